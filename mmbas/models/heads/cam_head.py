# Copyright (c) mmbas contributors. All rights reserved.
"""Plain CAM classifier head (the baseline of BAS)."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from ..losses.utils import autocast_off, to_loss_dtype
from .classifier_builder import VARIANTS, build_bas_classifier


@MODELS.register_module()
class CAMHead(BaseModule):
    """The BAS classifier without generator, trained with L_cls only.

    Args:
        in_channels_f2 (int): Channels C2 of F2.
        num_classes (int): Number of foreground classes C.
        variant (str): 'wsol' (3-conv classifier) or 'wsss' (conv1x1, no
            bias). Defaults to 'wsol'.
        hidden_channels (int): Hidden width of the WSOL classifier.
            Defaults to 1024.
        loss_cls (dict): L_cls config (see :class:`BASHead`).
        in_channels_f1 (int, optional): Ignored; accepted so that a BAS head
            config can be reused.
        init_cfg (dict, optional): Weight init config. Defaults to None.

    Shapes:
        F2: (N, C2, h2, w2); F: (N, C, h2, w2); S: (N, C).
    """

    def __init__(self,
                 in_channels_f2: int,
                 num_classes: int,
                 variant: str = 'wsol',
                 hidden_channels: int = 1024,
                 loss_cls: dict = dict(
                     type='BASCrossEntropyLoss', loss_weight=1.0),
                 in_channels_f1: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if variant not in VARIANTS:
            raise ValueError(
                f'variant must be one of {VARIANTS}, got {variant!r}')
        self.in_channels_f2 = in_channels_f2
        self.num_classes = num_classes
        self.variant = variant
        self.classifier = build_bas_classifier(in_channels_f2, num_classes,
                                               variant, hidden_channels)
        self.loss_cls = MODELS.build(loss_cls)

    def forward(self, f2: Tensor) -> Tensor:
        """F2 (N, C2, h2, w2) -> class activation map F (N, C, h2, w2)."""
        return self.classifier(f2)

    def loss(self, f2: Tensor, cls_idx: Tensor,
             cls_target: Tensor) -> Dict[str, Tensor]:
        """Return ``loss_cls`` and the detached top-1 ``acc`` against the
        (first/selected) class ``cls_idx`` (N,)."""
        cam = self.forward(f2)
        with autocast_off(cam):
            score = to_loss_dtype(cam).mean(dim=(2, 3))
        losses = dict(loss_cls=self.loss_cls(score, cls_target))
        with torch.no_grad():
            losses['acc'] = (score.argmax(1) == cls_idx).to(
                score.dtype).mean()
        return losses

    def predict_maps(self, f2: Tensor) -> Tuple[Tensor, Tensor]:
        """Return (F (N, C, h2, w2), S (N, C))."""
        cam = self.forward(f2)
        return cam, cam.mean(dim=(2, 3))
