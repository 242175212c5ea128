# Copyright (c) mmbas contributors. All rights reserved.
"""Boxes and masks follow the image through resize / crop / flip."""
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from mmseg.registry import TRANSFORMS

import mmbas  # noqa: F401

init_default_scope('mmseg')


def _sample(w=100, h=50, box=(10, 5, 50, 25)):
    img = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 1
    img[mask > 0] = 255
    return dict(
        img=img,
        img_path='fake.jpg',
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_label=np.array([3]),
        gt_bboxes=np.array([box], np.float32),
        gt_mask=mask,
        ignore_mask=mask.copy(),
        seg_fields=['gt_mask', 'ignore_mask'])


def _mask_box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_resize_scales_boxes_and_masks():
    t = TRANSFORMS.build(dict(type='Resize', scale=(200, 100)))
    out = t(_sample())
    np.testing.assert_allclose(out['gt_bboxes'], [[20, 10, 100, 50]])
    assert out['gt_mask'].shape == (100, 200)
    assert _mask_box(out['gt_mask']) == [20, 10, 100, 50]
    assert out['ignore_mask'].shape == (100, 200)
    assert out['scale_factor'] == (2.0, 2.0)


def test_center_crop_shifts_and_clips():
    s = _sample(w=256, h=256, box=(0, 20, 100, 250))
    out = TRANSFORMS.build(dict(type='WSOLCenterCrop', crop_size=224))(s)
    # offset (16, 16): [0-16, 20-16, 100-16, 250-16] clipped to [0, 224]
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 4, 84, 224]])
    assert out['img'].shape[:2] == (224, 224)
    assert out['gt_mask'].shape == (224, 224)
    assert _mask_box(out['gt_mask']) == [0, 4, 84, 224]
    np.testing.assert_array_equal(out['ignore_mask'], out['gt_mask'])


def test_paper_protocol_resize256_crop224():
    s = _sample(w=512, h=256, box=(64, 32, 320, 160))
    pipe = Compose([
        TRANSFORMS.build(dict(type='Resize', scale=(256, 256))),
        TRANSFORMS.build(dict(type='WSOLCenterCrop', crop_size=224))
    ])
    out = pipe(s)
    # x * 0.5 - 16, y * 1 - 16
    np.testing.assert_allclose(out['gt_bboxes'], [[16, 16, 144, 144]])
    assert _mask_box(out['gt_mask']) == [16, 16, 144, 144]


def test_flip_boxes_and_masks():
    s = _sample(w=224, h=224, box=(10, 20, 50, 60))
    out = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))(s)
    np.testing.assert_allclose(out['gt_bboxes'], [[174, 20, 214, 60]])
    assert _mask_box(out['gt_mask']) == [174, 20, 214, 60]
    assert out['flip'] and out['flip_direction'] == 'horizontal'


def test_random_crop_moves_boxes_with_masks():
    np.random.seed(3)
    t = TRANSFORMS.build(dict(type='WSOLRandomCrop', crop_size=(40, 60)))
    for _ in range(5):
        s = _sample(w=100, h=80, box=(30, 20, 70, 50))
        out = t(s)
        x0, y0, _, _ = out['crop_bbox']
        assert out['img'].shape[:2] == (40, 60)
        assert out['gt_mask'].shape == (40, 60)
        exp = np.array([30 - x0, 20 - y0, 70 - x0, 50 - y0], np.float32)
        exp[0::2] = exp[0::2].clip(0, 60)
        exp[1::2] = exp[1::2].clip(0, 40)
        np.testing.assert_allclose(out['gt_bboxes'][0], exp)
        if out['gt_mask'].any():
            assert _mask_box(out['gt_mask']) == exp.tolist()
        # the image crop matches the mask crop
        np.testing.assert_array_equal(out['img'][..., 0] > 0, out['gt_mask']
                                      > 0)


def test_wsss_train_pipeline_aspect_option():
    s = _sample(w=100, h=50)
    pipe = Compose([
        TRANSFORMS.build(
            dict(
                type='RandomResize',
                scale=(512, 512),
                ratio_range=(0.5, 1.0),
                keep_ratio=True)),
        TRANSFORMS.build(dict(type='RandomFlip', prob=0.5)),
        TRANSFORMS.build(dict(type='WSOLRandomCrop', crop_size=448)),
    ])
    out = pipe(s)
    assert out['gt_mask'].shape == out['img'].shape[:2]


def test_pack_bas_inputs():
    s = _sample()
    s['gt_seg_map'] = s['gt_mask'].copy()
    s['img_id'] = 'x1'
    out = TRANSFORMS.build(dict(type='PackBASInputs'))(s)
    inputs, ds = out['inputs'], out['data_samples']
    assert inputs.shape == (3, 50, 100) and inputs.dtype == torch.uint8
    assert ds.gt_label.dtype == torch.int64 and ds.gt_label.tolist() == [3]
    assert ds.gt_bboxes.dtype == torch.float32
    assert ds.gt_bboxes.shape == (1, 4)
    assert ds.gt_sem_seg.data.shape == (1, 50, 100)
    assert ds.gt_sem_seg.data.dtype == torch.int64
    assert ds.gt_mask.data.dtype == torch.uint8
    assert ds.ignore_mask.data.shape == (1, 50, 100)
    meta = ds.metainfo
    assert meta['img_id'] == 'x1' and meta['flip'] is False
    assert meta['flip_direction'] is None
    assert meta['ori_shape'] == (50, 100)


def test_load_annotations_box_errors():
    t = TRANSFORMS.build(dict(type='LoadWSOLAnnotations'))
    s = _sample()
    s['gt_bboxes'] = np.array([[10, 5, 150, 25]], np.float32)
    with pytest.raises(ValueError, match='fake.jpg .*outside the image'):
        t(s)
    s['gt_bboxes'] = np.array([[10, 5, 5, 25]], np.float32)
    with pytest.raises(ValueError, match='fake.jpg has a box with negative'):
        t(s)
    s['gt_bboxes'] = np.array([[-0.5, 5, 100.5, 25]], np.float32)
    np.testing.assert_allclose(t(s)['gt_bboxes'], [[0, 5, 100, 25]])
