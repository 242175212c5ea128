# Copyright (c) mmbas contributors. All rights reserved.
"""Ten-crop classification for WSOL testing (docs/method.md section 4)."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from torch import Tensor


def center_offset(size: int, crop: int) -> int:
    """Offset of mmcv ``CenterCrop`` along one side: ``max(0, int(round((size
    - crop) / 2.)))`` (Python's round, ties to even, as mmcv)."""
    return max(0, int(round((size - crop) / 2.)))


@MODELS.register_module()
class TenCropWSOLModel(BaseModel):
    """Average the class scores over ten crops; localise on the centre crop.

    The test pipeline stops after the resize (e.g. resize 256x256, no crop:
    ``tencrop_test_pipeline`` in the docs). For each image this wrapper
    cuts, from the preprocessed batch, the four corner crops and the centre
    crop of ``crop_size`` and their horizontal flips (10 views), runs the
    wrapped model once on all views (``forward_maps``), and sets
    ``pred_score`` from the mean of the views' scores S (softmax of the mean
    for single-label models, the mean S for multi-label ones). Everything
    else (``pred_loc_map``, ``pred_classes``...) is the wrapped model's
    ``predict`` on the centre crop, so it is identical to the plain
    resize-256 + centre-crop-224 test. The centre crop uses mmcv
    ``CenterCrop``'s offset; the ground truth of the sample is moved into
    its frame like ``WSOLCenterCrop`` does (``gt_bboxes`` shifted and
    clipped, ``gt_mask`` / ``ignore_mask`` / ``gt_sem_seg`` cropped) and
    ``img_shape`` / ``crop_bbox`` (x0, y0, x1, y1 in the resized image) are
    updated, so the WSOL metrics and the visualisation hook work unchanged.

    Config::

        model = dict(type='TenCropWSOLModel', module=<BAS config>,
                     crop_size=224)
        test_dataloader = dict(dataset=dict(pipeline=tencrop_test_pipeline))

    Args:
        module (dict | nn.Module): The WSOL model (``BAS`` / ``CAM``).
        crop_size (int): Side of the square crops. Defaults to 224.
        flip (bool): Add the horizontal flips (10 views; False: 5).
        data_preprocessor (dict, optional): Unused; the wrapped model's is
            used.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 module,
                 crop_size: int = 224,
                 flip: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.module = MODELS.build(module) if isinstance(module,
                                                         dict) else module
        self.crop_size = int(crop_size)
        self.flip = flip

    # the wrapper is test-only
    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise RuntimeError('TenCropWSOLModel only supports predict')
        return self.predict(inputs, data_samples)

    def test_step(self, data) -> list:
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    val_step = test_step

    def train_step(self, *args, **kwargs):
        raise RuntimeError('TenCropWSOLModel is a test-time wrapper; train '
                           'the wrapped model')

    # ------------------------------------------------------------------
    def _views(self, img: Tensor, h: int,
               w: int) -> Tuple[List[Tensor], Tuple[int, int]]:
        """Ten (or five) (3, c, c) views of ``img[:, :h, :w]`` and the centre
        crop offset (x, y)."""
        c = self.crop_size
        if h < c or w < c:
            raise ValueError(
                f'TenCropWSOLModel: image of {h}x{w} is smaller than the '
                f'crop {c}; the pipeline must resize (e.g. to 256) and not '
                'crop')
        cx, cy = center_offset(w, c), center_offset(h, c)
        offsets = [(0, 0), (w - c, 0), (0, h - c), (w - c, h - c), (cx, cy)]
        views = [img[:, y:y + c, x:x + c] for x, y in offsets]
        if self.flip:
            views += [v.flip(-1) for v in views]
        return views, (cx, cy)

    def _to_center_crop(self, ds, x0: int, y0: int) -> None:
        """Move the GT of ``ds`` into the centre-crop frame (in place)."""
        c = self.crop_size
        if 'gt_bboxes' in ds:
            boxes = torch.as_tensor(ds.gt_bboxes).clone().float()
            boxes[:, 0::2] = (boxes[:, 0::2] - x0).clamp(0, c)
            boxes[:, 1::2] = (boxes[:, 1::2] - y0).clamp(0, c)
            ds.gt_bboxes = boxes
        for key in ('gt_mask', 'ignore_mask', 'gt_sem_seg'):
            if key in ds:
                pix = ds.get(key)
                data = pix.data[..., y0:y0 + c, x0:x0 + c]
                ds.set_data({key: PixelData(data=data)})
        ds.set_metainfo(
            dict(img_shape=(c, c), crop_bbox=(x0, y0, x0 + c, y0 + c)))

    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Predict on preprocessed ``inputs`` (N, 3, H, W) (the resized images,
        batch padding bottom/right allowed)."""
        views, centres = [], []
        for img, ds in zip(inputs, data_samples):
            h, w = ds.metainfo.get('img_shape', img.shape[-2:])[:2]
            v, off = self._views(img, int(h), int(w))
            views.extend(v)
            centres.append(v[4])
            self._to_center_crop(ds, *off)
        with torch.no_grad():
            _, scores = self.module.forward_maps(torch.stack(views))
            out = self.module.predict(torch.stack(centres), data_samples)
        scores = scores.float().view(len(data_samples), -1,
                                     scores.shape[-1]).mean(1)
        multi = getattr(self.module, 'multi_label', False)
        for ds, s in zip(out, scores):
            ds.set_data(dict(pred_score=s if multi else s.softmax(0)))
        return out
