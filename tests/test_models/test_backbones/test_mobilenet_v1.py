# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
from mmseg.registry import MODELS

import mmbas  # noqa: F401

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _reference_keys():
    """``model.<i>.<j>`` layout of the public PyTorch MobileNetV1 weights and
    of the BAS reference."""
    keys = {'model.0.0.weight'} | {f'model.0.1.{b}' for b in _BN}
    for i in range(1, 14):
        keys |= {f'model.{i}.0.weight', f'model.{i}.3.weight'}
        keys |= {f'model.{i}.{j}.{b}' for j in (1, 4) for b in _BN}
    return keys


def test_key_layout_and_strides():
    model = MODELS.build(dict(type='MobileNetV1', init_cfg=None))
    assert set(model.state_dict()) == _reference_keys()
    assert model.model[6][0].stride == (1, 1)  # BAS: 256 -> 512 at stride 1
    assert model.model[12][0].stride == (2, 2)
    assert model.model[12][0].groups == 512
    assert model.f2_module_names == ('model', )


def test_pretrained_ignores_fc(tmp_path):
    torch.manual_seed(0)
    src = MODELS.build(dict(type='MobileNetV1', init_cfg=None))
    sd = dict(src.state_dict())
    sd['fc.weight'] = torch.zeros(1000, 1024)
    sd['fc.bias'] = torch.zeros(1000)
    ckpt = tmp_path / 'mobilenet_v1.pth'
    torch.save(sd, ckpt)
    model = MODELS.build(
        dict(
            type='MobileNetV1',
            init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))))
    model.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_options():
    model = MODELS.build(
        dict(
            type='MobileNetV1',
            num_f2_blocks=3,
            frozen_stages=0,
            init_cfg=None)).train()
    assert model.f1_channels == 512 and model.f2_channels == 1024
    assert not model.model[0][0].weight.requires_grad
    assert model.model[1][0].weight.requires_grad
    with pytest.raises(ValueError):
        MODELS.build(dict(type='MobileNetV1', strides=(2, 1), init_cfg=None))
