# Copyright (c) mmbas contributors. All rights reserved.
"""The BAS head: generator, classifier and the erased (AMC) branch."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor
from torch.func import functional_call

from ..losses.utils import autocast_off, to_loss_dtype
from .classifier_builder import VARIANTS, build_bas_classifier
from .selected_class_conv import selected_class_conv2d


class _ErasedBranch(nn.Module):
    """f2 followed by the classifier, as one module for ``functional_call``.

    Built on the fly (never attached to the model, so no parameter appears
    twice in the state dict); it only *refers* to the live modules.
    """

    def __init__(self, backbone: nn.Module, classifier: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.backbone.forward_f2(x))


@MODELS.register_module()
class BASHead(BaseModule):
    """Head of Background Activation Suppression.

    Holds the generator (``conv3x3(C1, C)`` + sigmoid on F1, giving the
    class-specific foreground maps M) and the classifier (F2 -> class
    activation map F), computes the four BAS losses, and runs the erased
    branch of the activation map constraint: ``E = detach(F1) * (1 - M_f)``
    goes through the backbone's f2 and the classifier with the *same* weights
    as the live modules but no gradient into them. This is done with
    :func:`torch.func.functional_call` on a wrapper of f2 + classifier whose
    parameters are replaced by ``p.detach()`` and whose buffers (BatchNorm
    running statistics) are replaced by clones: BatchNorm runs in the live
    modules' mode (train mode during training) on the erased batch and writes
    its running statistics into the clones only, so the live statistics are
    updated by the main branch alone. No deepcopy, no loop over the batch.
    In training the generator computes the selected class's map M[y] only
    (:meth:`forward_selected_generator`); :meth:`predict_maps` computes all
    C maps.

    Args:
        in_channels_f1 (int): Channels C1 of F1 (generator input).
        in_channels_f2 (int): Channels C2 of F2 (classifier input).
        num_classes (int): Number of foreground classes C.
        variant (str): 'wsol' (3-conv classifier, generator with bias, 2x2
            average pooled M_f in L_frg) or 'wsss' (1x1 classifier and
            generator without bias, L_frg on detached F). Defaults to 'wsol'.
        hidden_channels (int): Hidden width of the WSOL classifier.
            Defaults to 1024.
        loss_cls (dict): L_cls config; ``BASCrossEntropyLoss`` (single
            label, takes labels (N,)) or ``MultiLabelPosNegLoss`` (takes a
            multi-hot (N, C)).
        loss_frg (dict): L_frg config (``loss_weight`` = alpha).
        loss_bas (dict): L_bas config.
        loss_area (dict): L_ac config (``loss_weight`` = beta).
        detach_cam_in_frg (bool, optional): Detach F in L_frg. Defaults to
            True for 'wsss' and False for 'wsol' (as in the method spec).
        init_cfg (dict, optional): Weight init config. Defaults to None
            (PyTorch's default conv init).

    Shapes:
        F1: (N, C1, h1, w1); F2: (N, C2, h2, w2); M: (N, C, h1, w1);
        F: (N, C, h2, w2); S: (N, C).
    """

    def __init__(self,
                 in_channels_f1: int,
                 in_channels_f2: int,
                 num_classes: int,
                 variant: str = 'wsol',
                 hidden_channels: int = 1024,
                 loss_cls: dict = dict(
                     type='BASCrossEntropyLoss', loss_weight=1.0),
                 loss_frg: dict = dict(
                     type='ForegroundGuidanceLoss', loss_weight=1.0),
                 loss_bas: dict = dict(type='BASLoss', loss_weight=1.0),
                 loss_area: dict = dict(type='AreaLoss', loss_weight=1.0),
                 detach_cam_in_frg: Optional[bool] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if variant not in VARIANTS:
            raise ValueError(
                f'variant must be one of {VARIANTS}, got {variant!r}')
        self.in_channels_f1 = in_channels_f1
        self.in_channels_f2 = in_channels_f2
        self.num_classes = num_classes
        self.variant = variant
        self.detach_cam_in_frg = (variant == 'wsss'
                                  if detach_cam_in_frg is None else
                                  detach_cam_in_frg)
        self.generator = nn.Conv2d(
            in_channels_f1,
            num_classes,
            3,
            padding=1,
            bias=(variant == 'wsol'))
        self.classifier = build_bas_classifier(in_channels_f2, num_classes,
                                               variant, hidden_channels)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_frg = MODELS.build(loss_frg)
        self.loss_bas = MODELS.build(loss_bas)
        self.loss_area = MODELS.build(loss_area)

    # ------------------------------------------------------------------
    # forward pieces
    def forward_generator(self, f1: Tensor) -> Tensor:
        """F1 (N, C1, h1, w1) -> foreground maps M (N, C, h1, w1) in
        [0, 1]."""
        return self.generator(f1).sigmoid()

    def forward_selected_generator(self, f1: Tensor,
                                   cls_idx: Tensor) -> Tensor:
        """F1 (N, C1, h1, w1), y (N,) -> M_f = M[y] (N, 1, h1, w1).

        Equals ``gather_class_map(forward_generator(f1), cls_idx)`` but
        convolves each image with its class's filter only (see
        :func:`selected_class_conv2d`): the losses never read the other
        C - 1 maps, and computing them is most of the generator's cost.
        """
        gen = self.generator
        return selected_class_conv2d(f1, gen.weight, gen.bias,
                                     cls_idx).sigmoid()

    def forward_classifier(self, f2: Tensor) -> Tensor:
        """F2 (N, C2, h2, w2) -> class activation map F (N, C, h2, w2)."""
        return self.classifier(f2)

    def forward(self, f1: Tensor, f2: Tensor) -> Tuple[Tensor, Tensor]:
        """Return (M, F)."""
        return self.forward_generator(f1), self.forward_classifier(f2)

    # ------------------------------------------------------------------
    # erased branch
    def _frozen_state(self, backbone: nn.Module) -> Dict[str, Tensor]:
        """Detached parameters and cloned buffers of f2 + classifier, keyed
        by their names inside :class:`_ErasedBranch`."""
        names = getattr(backbone, 'f2_module_names', None)
        if names is None:  # whole backbone: f1 weights are simply unused
            parts = [('backbone', backbone)]
        else:
            parts = [(f'backbone.{n}', getattr(backbone, n)) for n in names]
        parts.append(('classifier', self.classifier))
        state = {}
        for prefix, module in parts:
            for name, param in module.named_parameters(prefix=prefix):
                state[name] = param.detach()
            for name, buf in module.named_buffers(prefix=prefix):
                state[name] = buf.clone()
        return state

    def erased_forward(self, erased: Tensor, backbone: nn.Module) -> Tensor:
        """Run erased features through f2 + classifier with frozen weights.

        Args:
            erased (Tensor): (N, C1, h1, w1) erased features E.
            backbone (nn.Module): The live backbone (provides
                ``forward_f2`` and ``f2_module_names``).

        Returns:
            Tensor: (N, C, h2, w2) class activation map of E. Gradients flow
            into ``erased`` only; the live weights get none and the live
            BatchNorm running statistics are not modified.
        """
        branch = _ErasedBranch(backbone, self.classifier)
        return functional_call(
            branch, self._frozen_state(backbone), (erased, ), strict=False)

    # ------------------------------------------------------------------
    # losses
    @staticmethod
    def gather_class_map(maps: Tensor, cls_idx: Tensor) -> Tensor:
        """(N, C, h, w), (N,) -> (N, 1, h, w) map of each image's class."""
        n, _, h, w = maps.shape
        index = cls_idx.view(n, 1, 1, 1).expand(n, 1, h, w)
        return maps.gather(1, index)

    def loss(self, f1: Tensor, f2: Tensor, cls_idx: Tensor,
             cls_target: Tensor, backbone: nn.Module) -> Dict[str, Tensor]:
        """Compute the BAS losses.

        Args:
            f1 (Tensor): (N, C1, h1, w1) live F1.
            f2 (Tensor): (N, C2, h2, w2) live F2.
            cls_idx (Tensor): (N,) long, the selected class y per image.
            cls_target (Tensor): target of ``loss_cls``: (N,) labels for
                single-label, (N, C) multi-hot for multi-label.
            backbone (nn.Module): live backbone (for the erased branch).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_frg``, ``loss_bas``,
            ``loss_area`` (weighted) and detached logs ``acc`` (top-1 of S
            against y) and ``bg_ratio`` (mean clamped S_bg / S).
        """
        fg_map = self.forward_selected_generator(f1, cls_idx)  # M_f
        cam = self.forward_classifier(f2)  # (N, C, h2, w2)
        erased = f1.detach() * (1 - fg_map)
        cam_bg = self.erased_forward(erased, backbone)
        idx = cls_idx.view(-1, 1)
        with autocast_off(cam):
            score = to_loss_dtype(cam).mean(dim=(2, 3))  # (N, C)
            score_bg = to_loss_dtype(cam_bg).mean(dim=(2, 3))
            fg_score = score.gather(1, idx).squeeze(1)
            bg_score = score_bg.gather(1, idx).squeeze(1).to(fg_score.dtype)
        losses = dict()
        losses['loss_cls'] = self.loss_cls(score, cls_target)
        frg_cam = cam.detach() if self.detach_cam_in_frg else cam
        losses['loss_frg'] = self.loss_frg(frg_cam, fg_map, cls_idx)
        losses['loss_bas'] = self.loss_bas(bg_score, fg_score)
        losses['loss_area'] = self.loss_area(fg_map)
        with torch.no_grad():
            losses['acc'] = (score.argmax(1) == cls_idx).to(
                score.dtype).mean()
            losses['bg_ratio'] = self.loss_bas.ratio(bg_score,
                                                     fg_score).mean()
        return losses

    def predict_maps(self, f1: Tensor, f2: Tensor) -> Tuple[Tensor, Tensor,
                                                             Tensor]:
        """Return (M (N, C, h1, w1), F (N, C, h2, w2), S (N, C))."""
        maps, cam = self.forward(f1, f2)
        return maps, cam, cam.mean(dim=(2, 3))
