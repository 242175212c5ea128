# Copyright (c) mmbas contributors. All rights reserved.
"""What the BAS and CAM heads share: the classifier, L_cls, the scores."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from ..losses.utils import autocast_off, to_loss_dtype
from .classifier_builder import VARIANTS, build_bas_classifier


def check_in_channels(head: str, key: str, value: Optional[int],
                      attr: str) -> int:
    """Return ``value`` as int or explain where the channel count comes from
    when it is missing."""
    if value is None:
        raise ValueError(
            f'{head} needs {key}: build it through a BAS / CAM model (it '
            f'reads the count from the backbone attribute {attr!r}) or '
            f'set head.{key} in the config')
    return int(value)


class BaseWSHead(BaseModule):
    """Base of the weakly supervised heads: classifier F2 -> F and L_cls.

    Like mmseg's decode heads, a head turns features into outputs
    (``forward``) and outputs plus targets into a loss dict
    (``loss_by_feat``); every loss term is stored under its loss module's
    ``loss_name``.

    Layers are built by :meth:`_init_layers` (subclasses add theirs
    there, in the order that keeps a seed's initial weights unchanged).

    Args:
        num_classes (int): Number of foreground classes C.
        in_channels_f1 (int, optional): Channels C1 of F1, for heads that
            read F1 (checked by them). The model fills it in from the
            backbone's ``f1_channels`` when omitted.
        in_channels_f2 (int, optional): Channels C2 of F2. The model fills
            it in from the backbone's ``f2_channels`` when omitted.
        variant (str): 'wsol' (3-conv classifier) or 'wsss' (conv1x1, no
            bias). Defaults to 'wsol'.
        hidden_channels (int): Hidden width of the WSOL classifier.
            Defaults to 1024.
        loss_cls (dict): L_cls config: ``BASCrossEntropyLoss`` (single
            label, takes labels (N,)) or ``MultiLabelPosNegLoss`` (takes a
            multi-hot (N, C)).
        init_cfg (dict, optional): Weight init config. Defaults to None
            (PyTorch's default conv init).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels_f1: Optional[int] = None,
                 in_channels_f2: Optional[int] = None,
                 variant: str = 'wsol',
                 hidden_channels: int = 1024,
                 loss_cls: dict = dict(
                     type='BASCrossEntropyLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if variant not in VARIANTS:
            raise ValueError(
                f'variant must be one of {VARIANTS}, got {variant!r}')
        self.in_channels_f1 = in_channels_f1
        self.in_channels_f2 = check_in_channels(
            type(self).__name__, 'in_channels_f2', in_channels_f2,
            'f2_channels')
        self.num_classes = num_classes
        self.variant = variant
        self.hidden_channels = hidden_channels
        self._init_layers()
        self.loss_cls = MODELS.build(loss_cls)

    def _init_layers(self) -> None:
        """Build the classifier (F2 -> F)."""
        self.classifier = build_bas_classifier(self.in_channels_f2,
                                               self.num_classes, self.variant,
                                               self.hidden_channels)

    def forward_classifier(self, f2: Tensor) -> Tensor:
        """F2 (N, C2, h2, w2) -> class activation map F (N, C, h2, w2)."""
        return self.classifier(f2)

    @staticmethod
    def image_scores(cam: Tensor) -> Tensor:
        """S = GAP(F): (N, C, h, w) -> (N, C), in at least float32 (the losses'
        precision; float64 kept)."""
        with autocast_off(cam):
            return to_loss_dtype(cam).mean(dim=(2, 3))

    @staticmethod
    def accuracy(score: Tensor, cls_idx: Tensor) -> Tensor:
        """Detached top-1 accuracy of S (N, C) against y (N,), a scalar."""
        with torch.no_grad():
            return (score.argmax(1) == cls_idx).to(score.dtype).mean()
