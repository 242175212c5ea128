# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest
from mmseg.registry import DATASETS


def _ilsvrc(toy, **kw):
    cfg = dict(type='ILSVRCDataset', data_root=toy['ilsvrc']['root'])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_ilsvrc_train(toy):
    man = toy['ilsvrc']
    ds = _ilsvrc(toy, split='train')
    assert ds.metainfo['classes'] == tuple(man['classes'])
    assert len(ds) == len(man['splits']['train'])
    for i, rec in enumerate(man['splits']['train']):
        info = ds.get_data_info(i)
        np.testing.assert_array_equal(info['gt_label'], rec['labels'])
        assert 'gt_bboxes' not in info


@pytest.mark.parametrize('mode', ['xml', 'metadata'])
def test_ilsvrc_val_boxes(toy, mode):
    man = toy['ilsvrc']
    kw = dict(metadata_root='../metadata/ILSVRC') if mode == 'metadata' \
        else {}
    ds = _ilsvrc(toy, split='val', **kw)
    recs = man['splits']['val']
    assert len(ds) == len(recs)
    for i, rec in enumerate(recs):
        info = ds.get_data_info(i)
        np.testing.assert_array_equal(info['gt_label'], rec['labels'])
        # 0-based corner pixels (XML: 1-based, minus xml_offset=1)
        np.testing.assert_allclose(info['gt_bboxes'],
                                   [o['bbox'] for o in rec['objects']])


def test_ilsvrc_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='ILSVRC folder'):
        DATASETS.build(
            dict(type='ILSVRCDataset', data_root=str(tmp_path), split='val'))
