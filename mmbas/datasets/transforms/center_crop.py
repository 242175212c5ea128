# Copyright (c) mmbas contributors. All rights reserved.
"""Centre crop that also crops every map of ``seg_fields``."""
import mmcv
import numpy as np
from mmcv.transforms import CenterCrop
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class WSOLCenterCrop(CenterCrop):
    """mmcv ``CenterCrop`` + the masks listed in ``results['seg_fields']``.

    mmcv's ``CenterCrop`` already shifts ``gt_bboxes`` by the crop offset and
    clips them to the crop (``clip_object_border=True``) and crops
    ``gt_seg_map``; this subclass also crops ``gt_mask``, ``ignore_mask``
    and any other key in ``seg_fields`` so masks stay aligned with the
    image. Used by the BAS paper test protocol (resize 256 -> centre crop
    224).

    Args:
        crop_size (int | tuple[int, int]): output (w, h).
        auto_pad (bool), pad_cfg (dict), clip_object_border (bool): as in
            :class:`mmcv.transforms.CenterCrop`.
    """

    def _crop_seg_map(self, results: dict, bboxes: np.ndarray) -> None:
        keys = list(results.get('seg_fields', []))
        if 'gt_seg_map' in results and 'gt_seg_map' not in keys:
            keys.append('gt_seg_map')
        for key in keys:
            if results.get(key) is not None:
                results[key] = mmcv.imcrop(results[key], bboxes=bboxes)
