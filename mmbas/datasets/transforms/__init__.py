# Copyright (c) mmbas contributors. All rights reserved.
"""Box- and mask-aware transforms (``mmseg.registry.TRANSFORMS``).

Resizing and flipping reuse mmseg's ``Resize`` / ``RandomResize`` /
``RandomFlip``: they already scale/flip ``gt_bboxes`` (via mmcv) and every
key of ``seg_fields`` (``gt_seg_map``, ``gt_mask``, ``ignore_mask``, nearest
interpolation). Only what they lack is here.
"""
from .center_crop import WSOLCenterCrop
from .formatting import PackBASInputs
from .loading import LoadWSOLAnnotations, StrictLoadImageFromFile
from .random_crop import WSOLRandomCrop

__all__ = [
    'LoadWSOLAnnotations', 'StrictLoadImageFromFile', 'WSOLCenterCrop',
    'WSOLRandomCrop', 'PackBASInputs'
]
