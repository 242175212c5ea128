# Copyright (c) mmbas contributors. All rights reserved.
"""Background activation suppression loss L_bas (activation map
constraint)."""
import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .utils import autocast_off, to_loss_dtype


@MODELS.register_module()
class BASLoss(nn.Module):
    """``mean_i relu(S_bg,i) / (detach(relu(S_i)) + eps)``.

    Every entry whose background score exceeds the full-image score
    (``S_bg,i > S_i``) is replaced by the constant 1, which carries no
    gradient. The denominator is always detached, so gradients flow only
    through ``S_bg``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Added to the denominator. Defaults to 1e-8.
        loss_name (str): Name of the loss term. Defaults to 'loss_bas'.

    Shapes:
        bg_score: (N,) S_bg, score of the selected class on the erased
            features.
        fg_score: (N,) S, score of the selected class on the full image.
        output: scalar.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 eps: float = 1e-8,
                 loss_name: str = 'loss_bas'):
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    def ratio(self, bg_score: Tensor, fg_score: Tensor) -> Tensor:
        """Per-image clamped ratio, shape (N,)."""
        with autocast_off(bg_score):
            bg = to_loss_dtype(bg_score)
            fg = to_loss_dtype(fg_score).to(bg.dtype).detach()
            ratio = bg.relu() / (fg.relu() + self.eps)
            ratio = torch.where(bg.detach() > fg, torch.ones_like(ratio),
                                ratio)
        return ratio

    def forward(self, bg_score: Tensor, fg_score: Tensor, **kwargs) -> Tensor:
        return self.loss_weight * self.ratio(bg_score, fg_score).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
