# Copyright (c) mmbas contributors. All rights reserved.
import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS


def _oi(toy, **kw):
    cfg = dict(
        type='OpenImagesWSOLDataset', data_root=toy['openimages']['root'])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_openimages_train(toy):
    man = toy['openimages']
    ds = _oi(toy, split='train')
    assert ds.metainfo['classes'] == tuple(man['class_ids'])
    assert len(ds) == len(man['splits']['train'])
    assert 'mask_paths' not in ds.get_data_info(0)


def test_openimages_masks(toy):
    man = toy['openimages']
    ds = _oi(
        toy,
        split='test',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadWSOLAnnotations'),
            dict(type='PackBASInputs')
        ])
    recs = man['splits']['test']
    assert len(ds) == len(recs)
    for i, rec in enumerate(recs):
        out = ds[i]
        s = out['data_samples']
        np.testing.assert_array_equal(s.gt_label.numpy(), rec['labels'])
        assert len(ds.get_data_info(i)['mask_paths']) == len(rec['objects'])
        fg = s.gt_mask.data[0].numpy()
        assert fg.shape == out['inputs'].shape[1:]
        assert fg.sum() == sum(o['area'] for o in rec['objects'])
        ign = s.ignore_mask.data[0].numpy()
        assert s.ignore_mask.data.dtype.is_floating_point is False
        assert not (ign.astype(bool) & fg.astype(bool)).any()


def test_openimages_mask_prefix_error(toy):
    with pytest.raises(FileNotFoundError, match='mask_prefix'):
        _oi(toy, split='val', mask_prefix='elsewhere')


def test_openimages_mask_resize_option(toy, tmp_path):
    ds = _oi(toy, split='val')
    info = ds.get_data_info(0)
    mask = cv2.imread(info['mask_paths'][0], cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(
        mask, (mask.shape[1] // 2, mask.shape[0] // 2),
        interpolation=cv2.INTER_NEAREST)
    path = str(tmp_path / 'small.png')
    cv2.imwrite(path, small)
    from mmcv.transforms import LoadImageFromFile
    from mmseg.registry import TRANSFORMS
    results = LoadImageFromFile()(
        dict(img_path=info['img_path'], mask_paths=[path]))
    with pytest.raises(ValueError, match='mask_size_mismatch'):
        TRANSFORMS.build(dict(type='LoadWSOLAnnotations'))(dict(results))
    out = TRANSFORMS.build(
        dict(type='LoadWSOLAnnotations', mask_size_mismatch='resize'))(
            dict(results))
    assert out['gt_mask'].shape == results['img'].shape[:2]
