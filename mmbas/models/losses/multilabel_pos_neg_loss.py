# Copyright (c) mmbas contributors. All rights reserved.
"""Multi-label classification loss of BAS for VOC / COCO."""
import torch
from mmseg.registry import MODELS
from torch import Tensor

from .base_loss import BaseLoss


@MODELS.register_module()
class MultiLabelPosNegLoss(BaseLoss):
    """Positive-vs-negatives softmax cross-entropy.

    For every positive class ``c`` of image ``i`` this is the softmax
    cross-entropy over the vector ``[S_ic, S_in for every negative n of i]``
    with target index 0, i.e. ``logsumexp([S_ic, S_i,neg]) - S_ic``. The
    terms are summed over all positives of the batch and divided by the
    batch size N. An image whose classes are all positive contributes 0.
    Computed without loops: the negatives of each image are reduced once
    with ``logsumexp`` and combined with each positive score through
    ``logaddexp``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the term in the loss dict. Defaults to
            'loss_cls'.

    Shapes:
        cls_score: (N, C) class scores (logits) S.
        label: (N, C) multi-hot targets (1 = positive, 0 = negative).
        output: scalar.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__(loss_weight=loss_weight, loss_name=loss_name)

    def compute(self, cls_score: Tensor, label: Tensor) -> Tensor:
        score = cls_score
        pos = label.to(torch.bool)
        # a very negative but finite fill keeps gradients finite when an
        # image has no negative class (its terms are then exactly 0).
        very_neg = torch.finfo(score.dtype).min
        neg_lse = score.masked_fill(pos, very_neg).logsumexp(
            dim=1, keepdim=True)  # (N, 1)
        per_class = torch.logaddexp(score, neg_lse) - score  # (N, C)
        per_class = per_class.masked_fill(~pos, 0.)
        return per_class.sum() / score.size(0)
