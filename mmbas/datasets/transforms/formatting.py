# Copyright (c) mmbas contributors. All rights reserved.
"""Pack a pipeline result into model inputs + a ``SegDataSample``."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample


def _pixel(arr: np.ndarray, dtype) -> PixelData:
    return PixelData(
        data=torch.from_numpy(
            np.ascontiguousarray(arr[None, ...]).astype(dtype)))


@TRANSFORMS.register_module()
class PackBASInputs(BaseTransform):
    """Pack ``img`` and the BAS ground truth (the mmbas data contract).

    Output ``dict(inputs, data_samples)``:

    * ``inputs``: uint8 tensor (3, H, W) (CHW of the BGR image, like mmseg's
      ``PackSegInputs``; normalisation and BGR->RGB happen in
      ``SegDataPreProcessor``).
    * ``data_samples``: :class:`SegDataSample` with data fields

      - ``gt_label``: LongTensor (K,) 0-based positive class indices over
        the C foreground classes (K=1 for single-label WSOL),
      - ``gt_bboxes``: FloatTensor (N, 4) xyxy in ``img_shape`` pixels (if
        ``gt_bboxes`` is in the results),
      - ``gt_sem_seg``: ``PixelData`` LongTensor (1, H, W) (if
        ``gt_seg_map``),
      - ``gt_mask`` / ``ignore_mask``: ``PixelData`` uint8 (1, H, W) 0/1 (if
        present),

      and metainfo ``meta_keys`` found in the results (``img_path``,
      ``seg_map_path``, ``ori_shape``, ``img_shape``, ``pad_shape``,
      ``scale_factor``, ``flip``, ``flip_direction``, ``reduce_zero_label``,
      ``img_id``, ``crop_bbox``). ``flip``/``flip_direction`` default to
      ``False``/``None`` when no flip ran.

    Args:
        meta_keys (tuple[str]): result keys copied into the metainfo.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                            'img_shape', 'pad_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label', 'img_id',
                            'crop_bbox')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack one sample (see the class docstring)."""
        packed = {}
        if 'img' in results:
            img = results['img']
            if img.ndim < 3:
                img = img[..., None]
            packed['inputs'] = torch.from_numpy(
                np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = SegDataSample()
        fields = {}
        if 'gt_label' in results:
            fields['gt_label'] = torch.as_tensor(
                np.asarray(results['gt_label'], dtype=np.int64).reshape(-1))
        if results.get('gt_bboxes') is not None:
            fields['gt_bboxes'] = torch.as_tensor(
                np.asarray(results['gt_bboxes'],
                           dtype=np.float32).reshape(-1, 4))
        if results.get('gt_seg_map') is not None:
            fields['gt_sem_seg'] = _pixel(results['gt_seg_map'], np.int64)
        for key in ('gt_mask', 'ignore_mask'):
            if results.get(key) is not None:
                fields[key] = _pixel(results[key] > 0, np.uint8)
        sample.set_data(fields)
        meta = {}
        for key in self.meta_keys:
            if key in results:
                meta[key] = results[key]
        meta.setdefault('flip', False)
        meta.setdefault('flip_direction', None)
        sample.set_metainfo(meta)
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
