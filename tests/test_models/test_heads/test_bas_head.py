# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
from mmseg.registry import MODELS

import mmbas  # noqa: F401


def _head(variant='wsol', **kw):
    cfg = dict(
        type='BASHead',
        in_channels_f1=8,
        in_channels_f2=16,
        num_classes=5,
        variant=variant,
        hidden_channels=12)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_bas_head_structure_wsol():
    head = _head('wsol')
    assert isinstance(head.generator, nn.Conv2d)
    assert head.generator.kernel_size == (3, 3)
    assert head.generator.bias is not None
    names = [n for n, _ in head.classifier.named_parameters()]
    assert names == [
        '0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias'
    ]
    assert head.classifier[0].kernel_size == (3, 3)
    assert head.classifier[4].kernel_size == (1, 1)
    assert len(head.classifier) == 5  # no ReLU after the last conv
    assert not head.detach_cam_in_frg
    f1 = torch.randn(2, 8, 8, 8)
    f2 = torch.randn(2, 16, 4, 4)
    maps, cam = head(f1, f2)
    assert maps.shape == (2, 5, 8, 8) and cam.shape == (2, 5, 4, 4)
    assert maps.min() >= 0 and maps.max() <= 1
    default = MODELS.build(
        dict(type='BASHead', in_channels_f1=8, in_channels_f2=16,
             num_classes=3))
    assert default.classifier[0].out_channels == 1024


def test_bas_head_structure_wsss():
    head = _head('wsss')
    assert head.generator.bias is None
    assert [n for n, _ in head.classifier.named_parameters()] == ['0.weight']
    assert head.classifier[0].kernel_size == (1, 1)
    assert head.detach_cam_in_frg
    with pytest.raises(ValueError, match='variant'):
        _head('other')


def test_cam_head():
    head = MODELS.build(
        dict(
            type='CAMHead',
            in_channels_f2=16,
            num_classes=4,
            variant='wsss',
            loss_cls=dict(type='MultiLabelPosNegLoss')))
    f2 = torch.randn(2, 16, 4, 4)
    cam, score = head.predict_maps(f2)
    assert cam.shape == (2, 4, 4, 4) and score.shape == (2, 4)
    losses = head.loss(f2, torch.tensor([0, 1]),
                       torch.tensor([[1., 0, 0, 1], [0, 1, 0, 0]]))
    assert set(losses) == {'loss_cls', 'acc'}
    assert not hasattr(head, 'generator')
