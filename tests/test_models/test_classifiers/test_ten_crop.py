# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmseg.registry import MODELS

import mmbas  # noqa: F401
from mmbas.models.classifiers.ten_crop import center_offset

CROP = 48


def _bas_cfg():
    return dict(
        type='BAS',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255),
        backbone=dict(type='WSOLResNet', depth=18, init_cfg=None),
        head=dict(
            type='BASHead',
            variant='wsol',
            hidden_channels=8,
            num_classes=3,
            loss_cls=dict(type='BASCrossEntropyLoss'),
            loss_frg=dict(type='ForegroundGuidanceLoss'),
            loss_bas=dict(type='BASLoss'),
            loss_area=dict(type='AreaLoss')),
        test_cfg=dict(topk=2))


def _data(crop: bool):
    rng = np.random.default_rng(0)
    pipe = [dict(type='Resize', scale=(56, 56), keep_ratio=False)]
    if crop:
        pipe.append(dict(type='WSOLCenterCrop', crop_size=CROP))
    from mmseg.registry import TRANSFORMS
    pipe = Compose(
        [TRANSFORMS.build(t) for t in pipe + [dict(type="PackBASInputs")]])
    samples = []
    for i in range(2):
        img = rng.integers(0, 255, (70, 60, 3), dtype=np.uint8)
        res = dict(
            img=img,
            img_shape=img.shape[:2],
            ori_shape=img.shape[:2],
            img_path=f'{i}.jpg',
            gt_label=np.array([i]),
            gt_bboxes=np.array([[5., 2., 58., 40.]], np.float32))
        samples.append(pipe(res))
    return pseudo_collate(samples)


def test_center_offset_matches_mmcv():
    assert center_offset(256, 224) == 16
    assert center_offset(56, 48) == 4
    assert center_offset(224, 224) == 0


def test_ten_crop_scores_and_centre_map():
    torch.manual_seed(0)
    bas = MODELS.build(_bas_cfg()).eval()
    tta = MODELS.build(
        dict(type='TenCropWSOLModel', module=bas, crop_size=CROP)).eval()
    ref = bas.test_step(_data(crop=True))
    out = tta.test_step(_data(crop=False))
    for r, o in zip(ref, out):
        # localisation and GT frame = the plain centre-crop test
        torch.testing.assert_close(o.pred_loc_map, r.pred_loc_map)
        torch.testing.assert_close(o.gt_bboxes, r.gt_bboxes)
        assert tuple(o.img_shape) == (CROP, CROP)
        assert o.pred_score.shape == (3, )
        torch.testing.assert_close(o.pred_score.sum(), torch.tensor(1.))
    # scores = softmax of the mean S over the 10 views
    data = bas.data_preprocessor(_data(crop=False), False)
    img = data['inputs'][0]
    offs = [(0, 0), (56 - CROP, 0), (0, 56 - CROP), (56 - CROP, 56 - CROP),
            (4, 4)]
    views = [img[:, y:y + CROP, x:x + CROP] for x, y in offs]
    views += [v.flip(-1) for v in views]
    with torch.no_grad():
        _, s = bas.forward_maps(torch.stack(views))
    torch.testing.assert_close(out[0].pred_score, s.mean(0).softmax(0))


def test_ten_crop_rejects_small_input():
    bas = MODELS.build(_bas_cfg()).eval()
    tta = MODELS.build(dict(type='TenCropWSOLModel', module=bas, crop_size=64))
    with pytest.raises(ValueError, match='smaller than the crop'):
        tta.test_step(_data(crop=False))
