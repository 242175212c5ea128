# Copyright (c) mmbas contributors. All rights reserved.
"""COCO2014SegDataset reads the layout of tools/dataset_converters/ coco2014.py
(81 classes, stems from ImageSets/<split>.txt)."""
import importlib.util
import os.path as osp

import numpy as np
import pytest

import mmbas  # noqa: F401
from mmbas.datasets import COCO2014SegDataset, COCOClsDataset
from mmbas.testing import COCO_CLASSES, make_coco

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    pytest.importorskip('pycocotools')
    root = tmp_path_factory.mktemp('coco')
    manifest = make_coco(str(root), num_train=4, num_val=3, size=64)
    spec = importlib.util.spec_from_file_location(
        'coco2014_conv',
        osp.join(ROOT, 'tools', 'dataset_converters', 'coco2014.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for split in ('train2014', 'val2014'):
        mod.convert_split(manifest['root'], split)
    return manifest


def test_metainfo():
    classes = COCO2014SegDataset.METAINFO['classes']
    assert len(classes) == 81 and classes[0] == 'background'
    assert classes[1:] == COCO_CLASSES
    assert classes == COCOClsDataset.METAINFO['classes']
    assert len(COCO2014SegDataset.METAINFO['palette']) == 81


def test_val_set_and_loading(coco):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    ds = COCO2014SegDataset(
        data_root=coco['root'],
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        test_mode=True)
    stems = open(osp.join(coco['root'], 'ImageSets',
                          'val2014.txt')).read().split()
    assert len(ds) == len(stems) == 3
    info = ds.get_data_info(0)
    assert osp.basename(info['img_path']) == stems[0] + '.jpg'
    assert info['seg_map_path'].endswith(
        osp.join('SegmentationClass', 'val2014', stems[0] + '.png'))
    assert info['reduce_zero_label'] is False
    results = LoadAnnotations()(LoadImageFromFile()(dict(info)))
    seg = results['gt_seg_map']
    assert seg.shape == results['img'].shape[:2]
    exact = [
        r for r in coco['splits']['val']
        if osp.basename(r['img_path'])[:-4] == stems[0]
    ][0]
    labels = set(np.unique(seg)) - {0, 255}
    assert labels == {c + 1 for c in exact['labels']}


def test_pseudo_folder(coco, tmp_path):
    ds = COCO2014SegDataset(
        data_root=coco['root'],
        data_prefix=dict(
            img_path='train2014', seg_map_path=str(tmp_path / 'pseudo')))
    assert len(ds) == 4  # default ann_file ImageSets/train2014.txt
    assert ds.get_data_info(0)['seg_map_path'].startswith(
        str(tmp_path / 'pseudo'))
