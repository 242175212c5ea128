# Copyright (c) mmbas contributors. All rights reserved.
import torch
import torch.nn as nn
import torchvision
from mmseg.registry import MODELS

import mmbas  # noqa: F401


def test_torchvision_key_names_and_layout():
    model = MODELS.build(dict(type='WSOLVGG16', init_cfg=None))
    with torch.device('meta'):
        tv = torchvision.models.vgg16(weights=None)
    tv_keys = {k for k in tv.state_dict() if k.startswith('features.')}
    assert set(model.state_dict()) == tv_keys
    for k, v in model.state_dict().items():
        assert tuple(v.shape) == tuple(tv.state_dict()[k].shape), k
    # pool4 starts f2, no pool5
    assert isinstance(model.features[23], nn.MaxPool2d)
    assert len(model.features) == 30
    assert isinstance(model.features[-1], nn.ReLU)


def test_pretrained_with_prefix(tmp_path):
    """mmpretrain-style checkpoint: keys under ``backbone.``."""
    torch.manual_seed(0)
    src = MODELS.build(dict(type='WSOLVGG16', init_cfg=None))
    ckpt = tmp_path / 'vgg.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in src.state_dict().items()
            }
        }, ckpt)
    model = MODELS.build(
        dict(
            type='WSOLVGG16',
            init_cfg=dict(
                type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')))
    model.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_frozen_stages():
    model = MODELS.build(
        dict(type='WSOLVGG16', frozen_stages=2, init_cfg=None)).train()
    assert not model.features[7].weight.requires_grad  # conv2_2
    assert model.features[10].weight.requires_grad  # conv3_1
