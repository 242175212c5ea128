# Copyright (c) mmbas contributors. All rights reserved.
import torch
import torchvision
from mmseg.registry import MODELS

import mmbas  # noqa: F401


def test_torchvision_key_names():
    model = MODELS.build(dict(type='WSOLInceptionV3', init_cfg=None))
    with torch.device('meta'):
        tv = torchvision.models.inception_v3(
            weights=None, aux_logits=True, init_weights=False)
    tv_sd = {
        k: v
        for k, v in tv.state_dict().items()
        if not k.startswith(('AuxLogits.', 'fc.'))
    }
    ours = model.state_dict()
    assert set(ours) == set(tv_sd)
    for k, v in ours.items():
        assert tuple(v.shape) == tuple(tv_sd[k].shape), k
    assert model.f2_module_names == ('Mixed_7a', 'Mixed_7b', 'Mixed_7c')


def test_reference_padding():
    model = MODELS.build(dict(type='WSOLInceptionV3', init_cfg=None))
    assert model.Conv2d_1a_3x3.conv.padding == (1, 1)
    assert model.Mixed_6a.branch3x3.conv.stride == (1, 1)
    assert model.Mixed_6a.branch3x3.conv.padding == (1, 1)
    assert model.Mixed_7a.branch3x3_2.conv.stride == (2, 2)
    assert model.Mixed_7a.branch3x3_2.conv.padding == (1, 1)


def test_frozen_stages_and_norm_eval():
    model = MODELS.build(
        dict(
            type='WSOLInceptionV3',
            frozen_stages=0,
            norm_eval=True,
            init_cfg=None)).train()
    assert not model.Conv2d_4a_3x3.conv.weight.requires_grad
    assert model.Mixed_5b.branch1x1.conv.weight.requires_grad
    assert not model.Mixed_7c.branch1x1.bn.training
