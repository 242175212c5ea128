# Copyright (c) mmbas contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
from mmseg.registry import DATASETS


def _build(toy, **kw):
    cfg = dict(type='VOCClsDataset', data_root=toy['voc']['root'])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_voc_labels_from_xml(toy):
    man = toy['voc']
    ds = _build(toy)
    assert len(ds) == len(man['splits']['train'])
    assert ds.metainfo['classes'][0] == 'background'
    assert len(ds.metainfo['classes']) == 21
    assert len(ds.metainfo['palette']) == 21
    for i, rec in enumerate(man['splits']['train']):
        info = ds.get_data_info(i)
        assert info['img_id'] == rec['id']
        np.testing.assert_array_equal(info['gt_label'], rec['labels'])
        assert info['gt_label'].dtype == np.int64
        assert 'seg_map_path' not in info


def test_voc_trainaug_with_seg_and_pipeline(toy):
    man = toy['voc']
    ds = _build(
        toy,
        ann_file='ImageSets/Segmentation/trainaug.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadWSOLAnnotations'),
            dict(type='PackBASInputs')
        ])
    n = len(man['splits']['train']) + len(man['splits']['aug'])
    assert len(ds) == n
    out = ds[0]
    sample = out['data_samples']
    assert sample.gt_sem_seg.data.shape[1:] == out['inputs'].shape[1:]
    present = set(np.unique(sample.gt_sem_seg.data.numpy())) - {0, 255}
    assert present == {k + 1 for k in sample.gt_label.tolist()}


def test_voc_label_file_txt_and_npy(toy, tmp_path):
    man = toy['voc']
    ids = [r['id'] for r in man['splits']['train']]
    txt = tmp_path / 'labels.txt'
    txt.write_text('# id classes\n' + '\n'.join(f'{i} 19 3' for i in ids))
    ds = _build(toy, label_file=str(txt))
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_label'], [3, 19])
    vec = np.zeros(20, np.float32)
    vec[[4, 7]] = 1
    npy = tmp_path / 'cls_labels.npy'
    np.save(npy, {int(i.replace('_', '')): vec for i in ids})
    ds = _build(toy, label_file=str(npy))
    np.testing.assert_array_equal(ds.get_data_info(1)['gt_label'], [4, 7])


def test_voc_errors(toy, tmp_path):
    with pytest.raises(FileNotFoundError, match='VOCdevkit/VOC2012'):
        DATASETS.build(
            dict(type='VOCClsDataset', data_root=str(tmp_path / 'nope')))
    # an id without XML and without label file
    root = toy['voc']['root']
    lst = tmp_path / 'list.txt'
    lst.write_text('2099_000001\n')
    with pytest.raises(FileNotFoundError, match='2099_000001'):
        _build(toy, ann_file=str(lst))
    assert osp.isdir(root)


def test_voc_lazy_init(toy):
    ds = _build(toy, lazy_init=True)
    assert not ds._fully_initialized
    assert len(ds.metainfo['classes']) == 21
