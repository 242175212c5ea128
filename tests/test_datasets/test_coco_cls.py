# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest
from mmseg.registry import DATASETS


def test_coco_labels_and_seg(toy):
    man = toy['coco']
    ds = DATASETS.build(
        dict(
            type='COCOClsDataset',
            data_root=man['root'],
            ann_file='annotations/instances_val2014.json',
            data_prefix=dict(
                img_path='val2014', seg_map_path='exact_masks/val2014'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadWSOLAnnotations'),
                dict(type='PackBASInputs')
            ]))
    assert len(ds.metainfo['classes']) == 81
    assert ds.metainfo['classes'][1] == 'person'
    recs = man['splits']['val']
    assert len(ds) == len(recs)
    for i, rec in enumerate(recs):
        info = ds.get_data_info(i)
        assert info['img_id'] == rec['coco_id']
        np.testing.assert_array_equal(info['gt_label'], rec['labels'])
    sample = ds[0]['data_samples']
    present = set(np.unique(sample.gt_sem_seg.data.numpy())) - {0, 255}
    assert present == {k + 1 for k in sample.gt_label.tolist()}


def test_coco_missing_json(toy, tmp_path):
    with pytest.raises(FileNotFoundError, match='annotation json'):
        DATASETS.build(dict(type='COCOClsDataset', data_root=str(tmp_path)))
