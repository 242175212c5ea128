# Copyright (c) mmbas contributors. All rights reserved.
"""Single-label cross-entropy on image-level class scores."""
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from torch import Tensor

from .base_loss import BaseLoss


@MODELS.register_module()
class BASCrossEntropyLoss(BaseLoss):
    """Softmax cross-entropy ``CE(S, y)`` averaged over the batch.

    This is the single-label L_cls of BAS (CUB, ILSVRC, OpenImages):
    ``loss_weight * mean_i CE(S_i, y_i)``. The per-image terms come from
    mmseg's ``CrossEntropyLoss`` (``use_sigmoid=False``, reduction
    ``'none'``); the batch mean is taken here because mmseg's ``'mean'``
    divides the sum by ``N + eps`` (eps = float32 epsilon, a relative
    change of about 1.2e-7 / N) where BAS divides by N. Evaluated in at
    least float32 under mixed precision (:class:`BaseLoss`), without host
    synchronisation.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the term in the loss dict. Defaults to
            'loss_cls'.

    Shapes:
        cls_score: (N, C) class scores (logits) S.
        label: (N,) long, class indices in [0, C).
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)
        self.ce = CrossEntropyLoss(
            use_sigmoid=False, reduction='none', loss_weight=1.0)

    def compute(self, cls_score: Tensor, label: Tensor) -> Tensor:
        return self.ce(cls_score, label.long()).mean()
