# Copyright (c) mmbas contributors. All rights reserved.
"""mmseg's stock DeepLabV3+ VOC config, inherited with ``mmseg::``, trains
one iteration on the toy VOC layout through ``tools/train.py`` with mmbas
imported (no pretrained download: ``pretrained=None``)."""
import os.path as osp

import pytest

from mmbas.testing import make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

STOCK = ('mmseg::deeplabv3plus/'
         'deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py')
CONFIG = '''
_base_ = [{stock!r}]
custom_imports = dict(imports=['mmbas'], allow_failed_imports=False)
data_root = {data_root!r}
crop_size = (64, 64)
model = dict(pretrained=None, data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs')
]
_voc = dict(type='PascalVOCDataset', data_root=data_root,
            pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(type='ConcatDataset', datasets=[
        dict(_voc, data_prefix=dict(img_path='JPEGImages',
                                    seg_map_path='SegmentationClass'),
             ann_file='ImageSets/Segmentation/train.txt'),
        dict(_voc, data_prefix=dict(img_path='JPEGImages',
                                    seg_map_path='SegmentationClassAug'),
             ann_file='ImageSets/Segmentation/aug.txt'),
    ]))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=1, val_interval=1000)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1000))
'''


@pytest.mark.slow
def test_deeplabv3plus_voc12aug_one_iteration(run_tool, tmp_path):
    make_voc(str(tmp_path / 'data'), num_train=4, num_val=2)
    config = tmp_path / 'deeplab_toy.py'
    config.write_text(
        CONFIG.format(
            stock=STOCK,
            data_root=str(tmp_path / 'data' / 'VOCdevkit' / 'VOC2012')))
    result = run_tool([
        osp.join(ROOT, 'tools', 'train.py'),
        str(config), '--work-dir',
        str(tmp_path / 'work')
    ],
                      timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Iter(train) [1/1]' in log
    assert 'decode.loss_ce' in log
