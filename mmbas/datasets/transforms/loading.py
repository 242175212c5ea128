# Copyright (c) mmbas contributors. All rights reserved.
"""Load the image (strictly) and the localisation ground truth of a WSOL / WSSS
sample."""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmseg.registry import TRANSFORMS

from mmbas.evaluation.functional.box_utils import validate_gt_boxes
from mmbas.utils.image_io import imread_strict


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that refuses truncated or corrupt files.

    A JPEG / PNG cut short decodes silently with some decoders (a grey
    bottom and a libjpeg warning); here it raises
    :class:`~mmbas.utils.errors.CorruptFileError` naming the file (see
    :mod:`mmbas.utils.image_io`), and a missing file a
    ``FileNotFoundError`` naming it. The mmbas datasets add the image list
    the file came from to both messages. Every mmbas config loads its
    images with this transform.

    Required keys: ``img_path``. Added keys: ``img`` (np.ndarray, (H, W, 3)
    uint8 BGR, or float32 with ``to_float32``), ``img_shape``,
    ``ori_shape`` ((H, W)).

    Args:
        to_float32 (bool): Convert the image to float32. Default False.
        color_type (str): ``flag`` of :func:`mmcv.imfrombytes`. Default
            ``'color'``.
        imdecode_backend (str): Decoding backend. Default ``'cv2'``.
        ignore_empty (bool): Return None instead of raising when the file
            is missing or corrupt (as mmcv). Default False.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 ignore_empty: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` (see the class doc)."""
        try:
            img = imread_strict(
                results['img_path'],
                flag=self.color_type,
                backend=self.imdecode_backend,
                backend_args=self.backend_args)
        except (FileNotFoundError, ValueError):
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadWSOLAnnotations(BaseTransform):
    """Load boxes, semantic maps and masks listed in a sample's data info.

    Run it after :class:`StrictLoadImageFromFile` (it checks every
    annotation against the loaded image and names the image on mismatch).
    Labels (``gt_label``) and boxes (``gt_bboxes``) already sit in the data
    info of the mmbas datasets; this transform validates the boxes and loads
    the files:

    Required keys: ``img``, ``img_path``; optional ``gt_bboxes`` (N, 4),
    ``seg_map_path``, ``mask_paths`` (list), ``ignore_path``, ``label_map``,
    ``reduce_zero_label``, ``seg_fields``.

    Added / modified keys:

    * ``gt_bboxes`` (np.ndarray float32, (N, 4)): checked with
      :func:`~mmbas.evaluation.functional.validate_gt_boxes` (negative
      width/height, NaN, or a box beyond the image by more than
      ``box_tolerance`` px -> ``ValueError`` naming the image) and clipped
      to the image.
    * ``gt_seg_map`` (np.ndarray uint8, (H, W)): read with
      ``flag='unchanged'`` (palette PNGs give their indices), then
      ``reduce_zero_label`` / ``label_map`` applied like mmseg's
      ``LoadAnnotations``.
    * ``gt_mask`` (np.ndarray uint8 0/1, (H, W)): union of the instance
      masks; a pixel is foreground when its value is above
      ``mask_threshold`` (masks stored as 0/1 count as foreground above 0,
      so 0/1, 0/255 and soft 0..255 masks such as CUB's all work).
    * ``ignore_mask`` (np.ndarray uint8 0/1, (H, W)): ignore PNG > 0,
      outside the foreground (foreground pixels are always scored).
    * ``seg_fields``: the loaded map keys are appended so mmseg's
      ``Resize``/``RandomFlip``/``RandomCrop`` and mmbas'
      ``WSOLCenterCrop``/``WSOLRandomCrop`` transform them (nearest).

    Args:
        with_bbox (bool): validate/clip ``gt_bboxes``. Default True.
        with_seg (bool): load ``seg_map_path`` when present. Default True.
        with_mask (bool): load ``mask_paths``/``ignore_path`` when present.
            Default True.
        mask_threshold (int): foreground threshold of masks whose max is
            above 1. Default 127.
        mask_size_mismatch (str): ``'error'`` (default) raises when a
            mask/seg map is not the image size; ``'resize'`` resizes it to
            the image (nearest), for sets whose masks come at another
            resolution.
        box_tolerance (float): pixels a box may overshoot the image before
            it is an error. Default 1.0.
        imdecode_backend (str): backend of ``mmcv.imfrombytes``. Default
            ``'pillow'``.
        backend_args (dict, optional): file backend arguments.
    """

    def __init__(self,
                 with_bbox: bool = True,
                 with_seg: bool = True,
                 with_mask: bool = True,
                 mask_threshold: int = 127,
                 mask_size_mismatch: str = 'error',
                 box_tolerance: float = 1.0,
                 imdecode_backend: str = 'pillow',
                 backend_args: Optional[dict] = None) -> None:
        if mask_size_mismatch not in ('error', 'resize'):
            raise ValueError("mask_size_mismatch must be 'error' or "
                             f"'resize', got {mask_size_mismatch!r}")
        self.with_bbox = with_bbox
        self.with_seg = with_seg
        self.with_mask = with_mask
        self.mask_threshold = mask_threshold
        self.mask_size_mismatch = mask_size_mismatch
        self.box_tolerance = box_tolerance
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    # ------------------------------------------------------------------
    def _read(self, path: str) -> np.ndarray:
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(f'annotation file {path} does not exist')
        arr = mmcv.imfrombytes(
            data, flag='unchanged', backend=self.imdecode_backend)
        if arr.ndim == 3:  # colour-saved mask: any channel
            arr = arr.max(axis=2)
        return arr

    def _fit(self, arr: np.ndarray, hw, path: str, img_path: str):
        if arr.shape[:2] == tuple(hw):
            return arr
        if self.mask_size_mismatch == 'resize':
            return mmcv.imresize(
                arr, (int(hw[1]), int(hw[0])), interpolation='nearest')
        raise ValueError(
            f'annotation {path} is {arr.shape[1]}x{arr.shape[0]} (WxH) but '
            f'image {img_path} is {hw[1]}x{hw[0]}; fix the file or set '
            f"LoadWSOLAnnotations(mask_size_mismatch='resize')")

    def _binary(self, arr: np.ndarray) -> np.ndarray:
        thr = self.mask_threshold if arr.max() > 1 else 0
        return arr > thr

    def _add_field(self, results: dict, key: str) -> None:
        fields = results.setdefault('seg_fields', [])
        if key not in fields:
            fields.append(key)

    def transform(self, results: dict) -> dict:
        """Load/validate the annotations of one sample (see class doc)."""
        img_path = results.get('img_path', '<unknown image>')
        hw = results['img'].shape[:2]
        if self.with_bbox and results.get('gt_bboxes') is not None:
            results['gt_bboxes'] = validate_gt_boxes(
                results['gt_bboxes'],
                hw[0],
                hw[1],
                where=f'image {img_path}',
                frame='image',
                tolerance=self.box_tolerance,
                clip=True,
                allow_empty=True,
                hint='Fix the box in the annotation file of the image.',
                dtype=np.float32)
        if self.with_seg and results.get('seg_map_path'):
            path = results['seg_map_path']
            seg = self._fit(self._read(path), hw, path, img_path)
            seg = seg.astype(np.uint8)
            if results.get('reduce_zero_label', False):
                seg[seg == 0] = 255
                seg = seg - 1
                seg[seg == 254] = 255
            if results.get('label_map') is not None:
                src = seg.copy()
                for old_id, new_id in results['label_map'].items():
                    seg[src == old_id] = new_id
            results['gt_seg_map'] = seg
            self._add_field(results, 'gt_seg_map')
        if self.with_mask and results.get('mask_paths'):
            fg = np.zeros(hw, dtype=bool)
            for path in results['mask_paths']:
                fg |= self._binary(
                    self._fit(self._read(path), hw, path, img_path))
            results['gt_mask'] = fg.astype(np.uint8)
            self._add_field(results, 'gt_mask')
            if results.get('ignore_path'):
                path = results['ignore_path']
                ign = self._fit(self._read(path), hw, path, img_path) > 0
                results['ignore_mask'] = (ign & ~fg).astype(np.uint8)
                self._add_field(results, 'ignore_mask')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, '
                f'with_seg={self.with_seg}, with_mask={self.with_mask}, '
                f'mask_threshold={self.mask_threshold}, '
                f"mask_size_mismatch='{self.mask_size_mismatch}')")
