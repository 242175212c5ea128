# Copyright (c) mmbas contributors. All rights reserved.
"""Smoke tests of BAS with the real ResNet-50 split backbones."""
import pytest
import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401


@pytest.mark.parametrize('variant,backbone,size', [
    ('wsol', 'WSOLResNet', 64),
    ('wsss', 'WSSSResNet', 64),
])
def test_bas_resnet50_smoke(variant, backbone, size):
    if backbone not in MODELS.module_dict:
        pytest.skip(f'{backbone} not available')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='BAS',
            backbone=dict(type=backbone, depth=50, init_cfg=None),
            head=dict(
                type='BASHead',
                num_classes=3,
                variant=variant,
                hidden_channels=16,
                loss_cls=dict(type='MultiLabelPosNegLoss' if variant ==
                              'wsss' else 'BASCrossEntropyLoss')),
            multi_label=(variant == 'wsss')))
    x = torch.randn(2, 3, size, size)
    data_samples = []
    for i in range(2):
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'{i}.jpg',
                img_shape=(size, size),
                ori_shape=(size, size)))
        ds.set_data(dict(gt_label=torch.tensor([i])))
        data_samples.append(ds)
    before = {
        k: v.clone()
        for k, v in model.state_dict().items()
        if 'layer4' in k and 'running' in k
    }
    losses = model.loss(x, data_samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(torch.isfinite(v) for v in losses.values())
    changed = [
        k for k, v in model.state_dict().items()
        if k in before and not torch.equal(v, before[k])
    ]
    assert changed  # main branch updates layer4 stats
    maps, cam, score = model._forward(x)
    stride1 = 8 if variant == 'wsol' else 16
    assert maps.shape == (2, 3, size // stride1, size // stride1)
    assert cam.shape == (2, 3, size // 16, size // 16)
