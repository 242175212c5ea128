# Copyright (c) mmbas contributors. All rights reserved.
"""Random crop that moves boxes along with the image and masks."""
import numpy as np
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class WSOLRandomCrop(RandomCrop):
    """mmseg ``RandomCrop`` that also shifts and clips ``gt_bboxes``.

    mmseg's ``RandomCrop`` crops ``img`` and every key of ``seg_fields``
    (``gt_seg_map``, ``gt_mask``, ``ignore_mask``) but ignores boxes; this
    subclass subtracts the crop offset from ``gt_bboxes`` (N, 4) xyxy and
    clips them to the crop. Boxes that end up outside the crop keep a zero
    width/height (they are not dropped, so box i still matches object i).
    When the image is smaller than ``crop_size`` the crop is the whole
    side (as in mmseg; batches are padded by the data preprocessor).
    Records the crop as ``results['crop_bbox']`` = (x0, y0, x1, y1).

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): max fraction of one category in the crop
            (needs ``gt_seg_map``). Default 1 (off).
        ignore_index (int): ignored label for ``cat_max_ratio``. Default 255.
    """

    def transform(self, results: dict) -> dict:
        """Crop image, maps and boxes with the same random window."""
        crop_bbox = self.crop_bbox(results)
        y1, _, x1, _ = crop_bbox
        results['img'] = self.crop(results['img'], crop_bbox)
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = self.crop(results[key], crop_bbox)
        h, w = results['img'].shape[:2]
        results['img_shape'] = (h, w)
        if results.get('gt_bboxes') is not None:
            boxes = np.asarray(results['gt_bboxes'], dtype=np.float32).copy()
            boxes = boxes - np.array([x1, y1, x1, y1], dtype=np.float32)
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
            results['gt_bboxes'] = boxes
        results['crop_bbox'] = (int(x1), int(y1), int(x1 + w), int(y1 + h))
        return results
