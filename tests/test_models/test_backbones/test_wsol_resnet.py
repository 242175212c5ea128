# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torchvision
from mmseg.registry import MODELS

import mmbas  # noqa: F401


def _tv_resnet50_keys():
    with torch.device('meta'):
        tv = torchvision.models.resnet50(weights=None)
    return set(tv.state_dict()) - {'fc.weight', 'fc.bias'}


@pytest.mark.parametrize('type_name', ['WSOLResNet', 'WSSSResNet'])
def test_torchvision_key_names(type_name):
    model = MODELS.build(dict(type=type_name, init_cfg=None))
    assert set(model.state_dict()) == _tv_resnet50_keys()
    assert model.f2_module_names == ('layer4', )


def test_strides():
    wsol = MODELS.build(dict(type='WSOLResNet', init_cfg=None))
    wsss = MODELS.build(dict(type='WSSSResNet', init_cfg=None))
    # first block of layer3/layer4 carries the stride on its 3x3 conv
    assert wsol.layer3[0].conv2.stride == (1, 1)
    assert wsol.layer4[0].conv2.stride == (1, 1)
    assert wsol.f2_pool_size == 2
    assert wsss.layer3[0].conv2.stride == (2, 2)
    assert wsss.layer4[0].conv2.stride == (1, 1)
    assert wsss.layer4[0].conv2.dilation == (1, 1)
    assert wsss.f2_pool_size == 0


def test_pretrained_from_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(weights=None)
    ckpt = tmp_path / 'resnet50_tv.pth'
    torch.save(tv.state_dict(), ckpt)
    model = MODELS.build(
        dict(
            type='WSSSResNet',
            init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))))
    model.init_weights()
    ours = model.state_dict()
    for k, v in tv.state_dict().items():
        if not k.startswith('fc.'):
            assert torch.equal(ours[k], v), k


def test_frozen_stages_and_norm_eval():
    model = MODELS.build(
        dict(
            type='WSOLResNet', frozen_stages=1, norm_eval=True, init_cfg=None))
    assert model.train() is model
    assert not model.conv1.weight.requires_grad
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer4[0].bn1.training
