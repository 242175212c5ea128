# Copyright (c) mmbas contributors. All rights reserved.
"""A slow, literal implementation of the BAS training losses, and a tiny
backbone, used to pin the fast implementation's numbers.

The reference follows the method description (docs/method.md, section 3)
word for word, the way the authors' code does it: it deep-copies f2 and the
classifier on every call (the copies keep ``requires_grad``, so backward
also computes gradients for the copied weights, which are then dropped
with the copies: the live weights get none), loops over the batch in Python
and over the positives of each image. It is used by
the unit tests (float64, relative error 1e-5) and by
``tools/analysis_tools/benchmark_train.py --compare-reference``.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class TinyBackbone(nn.Module):
    """A very small backbone with the f1/f2 interface (tests only).

    f1: two stride-2 conv-BN-ReLU blocks (F1: ``f1_channels``, /4).
    f2 (``layer2``): an optional 2x2 max-pool (``f2_pool``), conv-BN-ReLU
    (F2: ``f2_channels``, /8 with the pool or /4 without).

    Args:
        in_channels (int): Input channels. Defaults to 3.
        f1_channels (int): Channels of F1. Defaults to 8.
        f2_channels (int): Channels of F2. Defaults to 16.
        f2_pool (bool): WSOL-like (True) or WSSS-like (False) split.
    """

    def __init__(self,
                 in_channels: int = 3,
                 f1_channels: int = 8,
                 f2_channels: int = 16,
                 f2_pool: bool = True,
                 init_cfg=None):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(in_channels, f1_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(f1_channels), nn.ReLU(inplace=True),
            nn.Conv2d(f1_channels, f1_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(f1_channels), nn.ReLU(inplace=True))
        layers = [nn.MaxPool2d(2)] if f2_pool else []
        layers += [
            nn.Conv2d(f1_channels, f2_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(f2_channels),
            nn.ReLU(inplace=True)
        ]
        self.layer2 = nn.Sequential(*layers)
        self.f1_channels = f1_channels
        self.f2_channels = f2_channels
        self.f2_module_names = ('layer2', )
        self.min_input_size = 8 if f2_pool else 4

    def forward_f1(self, x: Tensor) -> Tensor:
        return self.layer1(x)

    def forward_f2(self, f1: Tensor) -> Tensor:
        return self.layer2(f1)

    def forward(self, x: Tensor):
        f1 = self.forward_f1(x)
        return f1, self.forward_f2(f1)


def register_tiny_backbone(name: str = 'TinyBASTestBackbone',
                           module: type = TinyBackbone) -> str:
    """Register :class:`TinyBackbone` (or a subclass, ``module``) in mmseg's
    MODELS as ``name`` (tests only)."""
    from mmseg.registry import MODELS
    MODELS.register_module(name=name, module=module, force=True)
    return name


def _copy_of_f2(backbone: nn.Module) -> nn.Module:
    """A backbone object whose f2 modules are deep copies (f1 shared); the
    copies' gradients never reach the live weights."""
    clone = copy.copy(backbone)
    clone._modules = dict(backbone._modules)
    for name in backbone.f2_module_names:
        clone._modules[name] = copy.deepcopy(backbone._modules[name])
    return clone


def _label_lists(data_samples) -> List[List[int]]:
    return [[
        int(v) for v in torch.as_tensor(ds.gt_label).reshape(-1).tolist()
    ] for ds in data_samples]


def reference_bas_losses(
        model: nn.Module,
        inputs: Tensor,
        data_samples: Sequence,
        cls_idx: Optional[Sequence[int]] = None) -> Dict[str, Tensor]:
    """BAS loss terms computed literally from docs/method.md section 3.

    Args:
        model: a :class:`mmbas.models.BAS` (its backbone and head weights
            and its loss weights are used).
        inputs (Tensor): (N, 3, H, W) preprocessed images.
        data_samples: samples with ``gt_label``.
        cls_idx (sequence of int, optional): the selected class of every
            image; defaults to the first label (single-label data).

    Returns:
        dict: weighted ``loss_cls``, ``loss_frg``, ``loss_bas``,
        ``loss_area``.
    """
    backbone, head = model.backbone, model.head
    labels = _label_lists(data_samples)
    n = inputs.shape[0]
    if cls_idx is None:
        cls_idx = [lab[0] for lab in labels]
    cls_idx = [int(c) for c in cls_idx]
    num_classes = head.num_classes

    f1 = backbone.forward_f1(inputs)
    f2 = backbone.forward_f2(f1)
    maps = torch.sigmoid(head.generator(f1))
    cam = head.classifier(f2)
    score = cam.mean(dim=(2, 3))

    fg_map = torch.stack([maps[i, cls_idx[i]] for i in range(n)])[:, None]

    # L_cls
    if model.multi_label:
        total = 0.
        for i in range(n):
            neg = [c for c in range(num_classes) if c not in labels[i]]
            for c in labels[i]:
                vec = torch.cat([score[i, c:c + 1], score[i, neg]])
                target = torch.zeros(1, dtype=torch.long, device=vec.device)
                total = total + F.cross_entropy(vec[None], target)
        loss_cls = total / n
    else:
        target = torch.tensor([lab[0] for lab in labels], device=inputs.device)
        loss_cls = F.cross_entropy(score, target)

    # L_frg
    if head.variant == 'wsol':
        fg_small = F.avg_pool2d(fg_map, 2)
        frg_cam = cam
    else:
        fg_small = fg_map
        frg_cam = cam.detach()
    frg_score = (frg_cam * fg_small).mean(dim=(2, 3))
    loss_frg = F.cross_entropy(frg_score,
                               torch.tensor(cls_idx, device=inputs.device))

    # L_bas on a copy of f2 + classifier (same weights at this step)
    copied_backbone = _copy_of_f2(backbone)
    copied_classifier = copy.deepcopy(head.classifier)
    erased = f1.detach() * (1 - fg_map)
    cam_bg = copied_classifier(copied_backbone.forward_f2(erased))
    total = 0.
    for i in range(n):
        s_bg = cam_bg[i, cls_idx[i]].mean()
        s = score[i, cls_idx[i]]
        if s_bg > s:
            total = total + 1.0
        else:
            total = total + torch.relu(s_bg) / (torch.relu(s).detach() + 1e-8)
    loss_bas = total / n

    loss_area = fg_map.mean()
    if not torch.is_tensor(loss_bas):
        loss_bas = torch.tensor(loss_bas, device=inputs.device)
    return dict(
        loss_cls=head.loss_cls.loss_weight * loss_cls,
        loss_frg=head.loss_frg.loss_weight * loss_frg,
        loss_bas=head.loss_bas.loss_weight * loss_bas,
        loss_area=head.loss_area.loss_weight * loss_area)


def reference_train_step(
        model: nn.Module,
        data: dict,
        optim_wrapper,
        cls_idx: Optional[Sequence[int]] = None) -> Dict[str, Tensor]:
    """One training step with :func:`reference_bas_losses`.

    Multi-label classes are drawn with the model's own sampler unless
    ``cls_idx`` is given.
    """
    with optim_wrapper.optim_context(model):
        data = model.data_preprocessor(data, True)
        inputs, samples = data['inputs'], data['data_samples']
        if cls_idx is None:
            first, multi_hot, _ = model.parse_labels(samples, inputs.device)
            cls_idx = model._choose_classes(multi_hot, first).tolist()
        losses = reference_bas_losses(model, inputs, samples, cls_idx)
    loss = sum(losses.values())
    optim_wrapper.update_params(loss)
    return losses
