# Copyright (c) mmbas contributors. All rights reserved.
"""Area constraint L_ac of BAS."""
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .utils import autocast_off, to_loss_dtype


@MODELS.register_module()
class AreaLoss(nn.Module):
    """Mean of the foreground map over pixels and batch.

    Args:
        loss_weight (float): Multiplier (beta of the paper). Defaults to 1.0.
        loss_name (str): Name of the loss term. Defaults to 'loss_area'.

    Shapes:
        fg_map: (N, 1, h, w) or (N, h, w) foreground map M_f in [0, 1].
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0,
                 loss_name: str = 'loss_area'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, fg_map: Tensor, **kwargs) -> Tensor:
        with autocast_off(fg_map):
            loss = to_loss_dtype(fg_map).mean()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
