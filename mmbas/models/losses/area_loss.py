# Copyright (c) mmbas contributors. All rights reserved.
"""Area constraint L_ac of BAS."""
from mmseg.registry import MODELS
from torch import Tensor

from .base_loss import BaseLoss


@MODELS.register_module()
class AreaLoss(BaseLoss):
    """Mean of the foreground map over pixels and batch.

    Args:
        loss_weight (float): Multiplier (beta of the paper). Defaults to 1.0.
        loss_name (str): Key of the term in the loss dict. Defaults to
            'loss_area'.

    Shapes:
        fg_map: (N, 1, h, w) or (N, h, w) foreground map M_f in [0, 1].
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_area'):
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)

    def compute(self, fg_map: Tensor) -> Tensor:
        return fg_map.mean()
