# Copyright (c) mmbas contributors. All rights reserved.
"""Foreground guidance loss L_frg of BAS."""
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .base_loss import BaseLoss


@MODELS.register_module()
class ForegroundGuidanceLoss(BaseLoss):
    """``CE(GAP(F * M_f'), y)`` averaged over the batch.

    ``M_f'`` is the foreground map resized to the class activation map's
    size: unchanged when the sizes agree (WSSS) and adaptive average pooling
    otherwise, which is exactly the 2x2 average pool of WSOL when ``M_f`` is
    twice the size of ``F``. Detaching ``F`` (WSSS) is the caller's choice.

    Args:
        loss_weight (float): Multiplier (alpha of the paper). Defaults to 1.0.
        loss_name (str): Key of the term in the loss dict. Defaults to
            'loss_frg'.

    Shapes:
        cam: (N, C, h, w) class activation map F.
        fg_map: (N, 1, h', w') or (N, h', w') foreground map M_f of the
            selected class.
        label: (N,) long, the selected class y of each image.
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_frg'):
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)

    def compute(self, cam: Tensor, fg_map: Tensor, label: Tensor) -> Tensor:
        fg_map = fg_map.to(cam.dtype)
        if fg_map.dim() == 3:
            fg_map = fg_map.unsqueeze(1)
        if fg_map.shape[-2:] != cam.shape[-2:]:
            fg_map = F.adaptive_avg_pool2d(fg_map, cam.shape[-2:])
        score = (cam * fg_map).mean(dim=(2, 3))  # (N, C)
        return F.cross_entropy(score, label.long())
