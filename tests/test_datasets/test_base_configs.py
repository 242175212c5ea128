# Copyright (c) mmbas contributors. All rights reserved.
"""configs/_base_/datasets build and run on the toy layouts."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS

CFG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
CASES = {
    'voc12_cls.py': ('voc', {}),
    'coco14_cls.py':
    ('coco',
     dict(
         test=dict(
             data_prefix=dict(
                 img_path='val2014', seg_map_path='exact_masks/val2014')))),
    'cub.py': ('cub', dict(test=dict(mask_dir='../segmentations'))),
    'ilsvrc.py': ('ilsvrc', {}),
    'openimages.py': ('openimages', {}),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_base_dataset_config(toy, name):
    key, overrides = CASES[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    for loader, part in (('train_dataloader', 'train'), ('test_dataloader',
                                                         'test')):
        assert cfg[loader]['sampler']['type'] == 'DefaultSampler'
        dcfg = copy.deepcopy(cfg[loader]['dataset'])
        dcfg['data_root'] = toy[key]['root']
        dcfg.update(overrides.get(part, {}))
        ds = DATASETS.build(dcfg)
        out = ds[0]
        assert out['data_samples'].gt_label.numel() >= 1
        if part == 'train' and key != 'voc' and key != 'coco':
            assert tuple(out['inputs'].shape) == (3, 224, 224)
