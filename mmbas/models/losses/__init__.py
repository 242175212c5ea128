# Copyright (c) mmbas contributors. All rights reserved.
from .affinity_loss import AffinityLoss
from .area_loss import AreaLoss
from .bas_loss import BASLoss
from .base_loss import BaseLoss
from .cross_entropy_loss import BASCrossEntropyLoss
from .foreground_guidance_loss import ForegroundGuidanceLoss
from .multilabel_pos_neg_loss import MultiLabelPosNegLoss

__all__ = [
    'AffinityLoss', 'AreaLoss', 'BASLoss', 'BaseLoss', 'BASCrossEntropyLoss',
    'ForegroundGuidanceLoss', 'MultiLabelPosNegLoss'
]
