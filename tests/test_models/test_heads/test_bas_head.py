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
        dict(
            type='BASHead', in_channels_f1=8, in_channels_f2=16,
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


@pytest.mark.parametrize('variant', ['wsol', 'wsss'])
def test_forward_and_loss_by_feat(variant):
    torch.manual_seed(0)
    head = _head(variant).double()
    f1 = torch.randn(3, 8, 8, 8, dtype=torch.float64)
    f2 = torch.randn(
        3,
        16,
        4 if variant == 'wsol' else 8,
        4 if variant == 'wsol' else 8,
        dtype=torch.float64)
    idx = torch.tensor([4, 0, 2])
    maps, cam = head(f1, f2)
    assert maps.shape == (3, 5, 8, 8)
    # training forward: the selected class's map only, same values
    fg_map, cam_t = head(f1, f2, idx)
    assert fg_map.shape == (3, 1, 8, 8)
    torch.testing.assert_close(fg_map, head.gather_class_map(maps, idx))
    torch.testing.assert_close(cam_t, cam)
    # loss_by_feat: outputs + targets -> the loss modules on them
    # S = GAP(F) > 0.5 and S_bg = S / 2: every L_bas entry unclamped
    cam = (cam.detach() - cam.detach().amin() + 0.5).requires_grad_()
    cam_bg = (0.5 * cam.detach()).requires_grad_()
    losses = head.loss_by_feat(fg_map, cam, cam_bg, idx, idx)
    assert set(losses) == {
        'loss_cls', 'loss_frg', 'loss_bas', 'loss_area', 'acc', 'bg_ratio'
    }
    s, s_bg = cam.mean((2, 3)), cam_bg.mean((2, 3))
    rows = torch.arange(3)
    expect = dict(
        loss_cls=head.loss_cls(s, idx),
        loss_frg=head.loss_frg(cam, fg_map, idx),
        loss_bas=head.loss_bas(s_bg[rows, idx], s[rows, idx]),
        loss_area=head.loss_area(fg_map))
    for k, v in expect.items():
        torch.testing.assert_close(losses[k], v, rtol=1e-12, atol=0)
    assert losses['acc'] == (s.argmax(1) == idx).double().mean()
    assert not losses['bg_ratio'].requires_grad
    torch.testing.assert_close(
        losses['bg_ratio'],
        torch.tensor(0.5, dtype=torch.float64),
        rtol=1e-7,
        atol=0)
    # L_bas reaches the erased branch's output; L_frg reaches F only in
    # WSOL (WSSS detaches F there)
    losses['loss_bas'].backward(retain_graph=True)
    assert cam_bg.grad.abs().sum() > 0 and cam.grad is None
    losses['loss_frg'].backward()
    assert (cam.grad is not None) == (variant == 'wsol')


def test_loss_name_keys_the_loss_dict():
    torch.manual_seed(0)
    head = _head(
        'wsol',
        loss_cls=dict(type='BASCrossEntropyLoss', loss_name='loss_ce'),
        loss_area=dict(type='AreaLoss', loss_weight=2., loss_name='loss_ac'))
    f1, f2 = torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)
    idx = torch.tensor([1, 3])
    fg_map, cam = head(f1, f2, idx)
    losses = head.loss_by_feat(fg_map, cam, cam.detach(), idx, idx)
    assert set(losses) == {
        'loss_ce', 'loss_frg', 'loss_bas', 'loss_ac', 'acc', 'bg_ratio'
    }
    torch.testing.assert_close(losses['loss_ac'], 2. * fg_map.mean())
    cam_head = MODELS.build(
        dict(
            type='CAMHead',
            in_channels_f2=16,
            num_classes=5,
            loss_cls=dict(type='BASCrossEntropyLoss',
                          loss_name='loss_single')))
    assert set(cam_head.loss(f2, idx, idx)) == {'loss_single', 'acc'}
    # the four names key one dict: they must differ
    with pytest.raises(ValueError, match='must differ'):
        _head(loss_area=dict(type='AreaLoss', loss_name='loss_bas'))
    # mmengine only sums keys containing 'loss'
    with pytest.raises(ValueError, match="start with 'loss'"):
        _head(loss_area=dict(type='AreaLoss', loss_name='area'))


def test_head_without_channels_explains_where_they_come_from():
    with pytest.raises(ValueError, match='in_channels_f2.*f2_channels'):
        MODELS.build(dict(type='BASHead', num_classes=3))
    with pytest.raises(ValueError, match='in_channels_f1.*f1_channels'):
        MODELS.build(dict(type='BASHead', num_classes=3, in_channels_f2=4))
    with pytest.raises(ValueError, match='CAMHead needs in_channels_f2'):
        MODELS.build(dict(type='CAMHead', num_classes=3))


def test_seeded_init_order_generator_then_classifier():
    # the order of the random draws is part of a seed's meaning: the
    # generator is initialised first, then the classifier
    torch.manual_seed(0)
    head = _head('wsol')
    torch.manual_seed(0)
    gen = nn.Conv2d(8, 5, 3, padding=1)
    first = nn.Conv2d(16, 12, 3, padding=1)
    assert torch.equal(head.generator.weight, gen.weight)
    assert torch.equal(head.classifier[0].weight, first.weight)
