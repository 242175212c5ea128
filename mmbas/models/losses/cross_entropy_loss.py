# Copyright (c) mmbas contributors. All rights reserved.
"""Single-label cross-entropy on image-level class scores."""
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .utils import autocast_off, to_loss_dtype


@MODELS.register_module()
class BASCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy ``CE(S, y)`` averaged over the batch.

    This is the single-label L_cls of BAS (CUB, ILSVRC, OpenImages). It is a
    separate class (rather than mmseg's ``CrossEntropyLoss``) so that the
    value is exactly ``loss_weight * mean_i CE(S_i, y_i)`` with no
    ignore-index / ``avg_non_ignore`` logic and no host synchronisation, and
    so that it is evaluated in float32 under mixed precision. mmseg's
    ``CrossEntropyLoss(use_sigmoid=False)`` gives the same number on
    ``(N, C)`` scores (a unit test checks this), so either may be configured.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss term. Defaults to 'loss_cls'.

    Shapes:
        cls_score: (N, C) class scores (logits) S.
        label: (N,) long, class indices in [0, C).
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, **kwargs) -> Tensor:
        with autocast_off(cls_score):
            loss = F.cross_entropy(to_loss_dtype(cls_score), label.long())
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
