# Copyright (c) mmbas contributors. All rights reserved.
"""Background activation suppression loss L_bas (activation map constraint)."""
import torch
from mmseg.registry import MODELS
from torch import Tensor

from .base_loss import BaseLoss
from .utils import autocast_off, to_loss_dtype


@MODELS.register_module()
class BASLoss(BaseLoss):
    """``mean_i relu(S_bg,i) / (detach(relu(S_i)) + eps)``.

    Every entry whose background score exceeds the full-image score
    (``S_bg,i > S_i``) is replaced by the constant 1, which carries no
    gradient. The denominator is always detached, so gradients flow only
    through ``S_bg``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        eps (float): Added to the denominator. Defaults to 1e-8.
        loss_name (str): Key of the term in the loss dict. Defaults to
            'loss_bas'.

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
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)
        self.eps = eps

    def ratio(self, bg_score: Tensor, fg_score: Tensor) -> Tensor:
        """Per-image clamped ratio (N,), in at least float32 (the head logs its
        mean as ``bg_ratio``)."""
        with autocast_off(bg_score):
            bg = to_loss_dtype(bg_score)
            fg = to_loss_dtype(fg_score).to(bg.dtype).detach()
            ratio = bg.relu() / (fg.relu() + self.eps)
            ratio = torch.where(bg.detach() > fg, torch.ones_like(ratio),
                                ratio)
        return ratio

    def compute(self, bg_score: Tensor, fg_score: Tensor) -> Tensor:
        return self.ratio(bg_score, fg_score).mean()
