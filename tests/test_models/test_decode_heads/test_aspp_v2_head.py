# Copyright (c) mmbas contributors. All rights reserved.
"""ASPPV2Head: DeepLab-v2 ASPP-L (summed dilated 3x3 branches)."""
import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.models.decode_heads import ASPPV2Head


def build(**kwargs):
    cfg = dict(type='ASPPV2Head', in_channels=8, num_classes=5)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_structure_and_init():
    head = build()
    assert isinstance(head, ASPPV2Head)
    assert not hasattr(head, 'conv_seg')
    convs = head.aspp_convs
    assert [c.dilation[0] for c in convs] == [6, 12, 18, 24]
    assert [c.padding[0] for c in convs] == [6, 12, 18, 24]
    for conv in convs:
        assert conv.in_channels == 8 and conv.out_channels == 5
        assert conv.kernel_size == (3, 3)
        assert conv.bias is not None and torch.all(conv.bias == 0)
    # no BN / ReLU / pooling anywhere in the head
    kinds = {type(m) for m in head.modules()}
    assert not kinds & {nn.BatchNorm2d, nn.ReLU, nn.AdaptiveAvgPool2d}
    n_params = sum(p.numel() for p in head.parameters())
    assert n_params == 4 * (8 * 5 * 9 + 5)


def test_forward_is_sum_of_branches():
    head = build(dilations=(1, 2))
    x = torch.randn(2, 8, 7, 9)
    out = head((x, ))
    assert out.shape == (2, 5, 7, 9)
    ref = head.aspp_convs[0](x) + head.aspp_convs[1](x)
    torch.testing.assert_close(out, ref)
    # in_index picks the feature of a multi-level backbone output
    head = build(in_index=1)
    out = head([torch.randn(1, 3, 4, 4), torch.randn(1, 8, 6, 6)])
    assert out.shape == (1, 5, 6, 6)


def test_loss_and_predict():
    head = build()
    feats = (torch.randn(2, 8, 8, 8), )
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 64, 64)))
        samples.append(s)
    losses = head.loss(feats, samples, dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    assert head.aspp_convs[3].weight.grad is not None
    logits = head.predict(feats, [dict(img_shape=(64, 64))] * 2,
                          dict(mode='whole'))
    assert logits.shape == (2, 5, 64, 64)


def test_bad_dilations():
    with pytest.raises(ValueError):
        build(dilations=())


def test_in_an_encoder_decoder():
    model = MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(
                type='ResNet',
                depth=18,
                out_indices=(3, ),
                dilations=(1, 1, 2, 4),
                strides=(1, 2, 1, 1),
                contract_dilation=True),
            decode_head=dict(
                type='ASPPV2Head', in_channels=512, in_index=0, num_classes=3),
            test_cfg=dict(mode='whole')))
    out = model(torch.randn(1, 3, 32, 32), mode='tensor')
    assert out.shape == (1, 3, 4, 4)  # output stride 8
