# Copyright (c) mmbas contributors. All rights reserved.
"""Model/head contract: the head's F1 / F2 channels come from the backbone, the
loss dict is keyed by the loss modules' ``loss_name``."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.models.classifiers.base_weakly_supervised import head_with_channels
from mmbas.testing.bas_reference import TinyBackbone, register_tiny_backbone

BACKBONE = register_tiny_backbone()


def _samples(labels):
    out = []
    for i, lab in enumerate(labels):
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'img_{i}.jpg',
                img_shape=(32, 32),
                ori_shape=(32, 32)))
        ds.set_data(dict(gt_label=torch.tensor(lab)))
        out.append(ds)
    return out


def _model(kind='BAS', f1=6, f2=10, **head):
    head_cfg = dict(type=f'{kind}Head', num_classes=4, hidden_channels=12)
    head_cfg.update(head)
    return MODELS.build(
        dict(
            type=kind,
            backbone=dict(type=BACKBONE, f1_channels=f1, f2_channels=f2),
            head=head_cfg))


@pytest.mark.parametrize('kind', ['BAS', 'CAM'])
def test_head_channels_are_read_from_the_backbone(kind):
    torch.manual_seed(0)
    model = _model(kind)
    assert model.head.in_channels_f2 == 10
    assert model.head.classifier[0].in_channels == 10
    if kind == 'BAS':
        assert model.head.in_channels_f1 == 6
        assert tuple(model.head.generator.weight.shape) == (4, 6, 3, 3)
    losses = model.loss(torch.randn(2, 3, 32, 32), _samples([[1], [3]]))
    assert all(torch.isfinite(v) for v in losses.values())
    # explicit values equal to the backbone's keep working
    same = _model(kind, in_channels_f1=6, in_channels_f2=10)
    assert same.head.in_channels_f2 == 10


@pytest.mark.parametrize('kind', ['BAS', 'CAM'])
@pytest.mark.parametrize('key,value,attr,actual', [
    ('in_channels_f1', 7, 'f1_channels', 6),
    ('in_channels_f2', 12, 'f2_channels', 10),
])
def test_mismatched_head_channels_error(kind, key, value, attr, actual):
    msg = (rf'model\.head\.{key}={value} does not match the backbone: '
           rf'TinyBackbone\.{attr} is {actual}; drop model\.head\.{key}')
    with pytest.raises(ValueError, match=msg):
        _model(kind, **{key: value})


def test_head_with_channels():
    backbone = TinyBackbone(f1_channels=6, f2_channels=10)
    cfg = dict(type='BASHead', num_classes=4, in_channels_f2=None)
    out = head_with_channels(cfg, backbone)
    assert out['in_channels_f1'] == 6 and out['in_channels_f2'] == 10
    assert cfg == dict(type='BASHead', num_classes=4, in_channels_f2=None)
    # a backbone without the attributes leaves the config alone: the head
    # then names the missing key
    bare = torch.nn.Conv2d(3, 6, 3)
    assert head_with_channels(cfg, bare) == cfg
    with pytest.raises(ValueError, match='BASHead needs in_channels_f2'):
        MODELS.build(head_with_channels(cfg, bare))


def test_real_backbone_depth_sets_the_head():
    model = MODELS.build(
        dict(
            type='BAS',
            backbone=dict(type='WSSSResNet', depth=18, init_cfg=None),
            head=dict(type='BASHead', num_classes=3, variant='wsss')))
    assert (model.head.in_channels_f1, model.head.in_channels_f2) == (256, 512)
    assert model.head.generator.in_channels == 256


def test_custom_loss_names_reach_the_log_and_the_total():
    torch.manual_seed(0)
    model = _model(
        'BAS',
        loss_cls=dict(type='BASCrossEntropyLoss', loss_name='loss_ce'),
        loss_area=dict(type='AreaLoss', loss_weight=1.5, loss_name='loss_ac'))
    wrapper = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.)))
    data = dict(
        inputs=torch.randn(2, 3, 32, 32), data_samples=_samples([[1], [2]]))
    log = model.train_step(data, wrapper)
    assert {'loss_ce', 'loss_frg', 'loss_bas', 'loss_ac', 'acc',
            'bg_ratio'} <= set(log)
    assert 'loss_cls' not in log and 'loss_area' not in log
    total = sum(log[k] for k in ('loss_ce', 'loss_frg', 'loss_bas', 'loss_ac'))
    torch.testing.assert_close(log['loss'], total)
