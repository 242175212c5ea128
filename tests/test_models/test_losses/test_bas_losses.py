# Copyright (c) mmbas contributors. All rights reserved.
"""Hand-computed numbers for the BAS loss modules."""
import math

import pytest
import torch
from mmseg.registry import MODELS

import mmbas  # noqa: F401


def test_bas_cross_entropy_loss():
    loss = MODELS.build(dict(type='BASCrossEntropyLoss', loss_weight=2.0))
    score = torch.tensor([[0., 0.], [math.log(3.), 0.]])
    label = torch.tensor([0, 0])
    # CE = [ln 2, ln(4/3)], mean, times 2
    expected = 2.0 * (math.log(2.) + math.log(4. / 3.)) / 2
    assert loss(score, label).item() == pytest.approx(expected, rel=1e-6)
    assert loss.loss_name == 'loss_cls'
    # mmseg's CrossEntropyLoss gives the same number on (N, C) scores
    mmseg_ce = MODELS.build(
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0))
    s = torch.randn(5, 7)
    y = torch.randint(0, 7, (5, ))
    assert loss(s, y).item() == pytest.approx(mmseg_ce(s, y).item(), 1e-6)


def test_multilabel_pos_neg_loss():
    loss = MODELS.build(dict(type='MultiLabelPosNegLoss', loss_weight=1.0))
    score = torch.tensor([[1., 2., 0.], [1., 0., 0.]])
    label = torch.tensor([[1, 1, 0], [1, 0, 0]])
    # image 0: c=0 over [1, 0]; c=1 over [2, 0]; image 1: c=0 over [1, 0, 0]
    terms = [
        math.log(math.e + 1) - 1,
        math.log(math.e**2 + 1) - 2,
        math.log(math.e + 2) - 1
    ]
    assert loss(score, label).item() == pytest.approx(sum(terms) / 2, 1e-6)
    # weight and an image whose classes are all positive (contributes 0)
    loss3 = MODELS.build(dict(type='MultiLabelPosNegLoss', loss_weight=3.0))
    s = torch.tensor([[1., 2.], [0.5, -1.]], requires_grad=True)
    lab = torch.tensor([[1, 1], [1, 0]])
    out = loss3(s, lab)
    expected = 3.0 * (math.log(math.exp(0.5) + math.exp(-1.)) - 0.5) / 2
    assert out.item() == pytest.approx(expected, 1e-6)
    out.backward()
    assert torch.isfinite(s.grad).all()
    assert torch.equal(s.grad[0], torch.zeros(2))


def test_foreground_guidance_loss():
    loss = MODELS.build(dict(type='ForegroundGuidanceLoss', loss_weight=0.5))
    cam = torch.arange(8.).view(1, 2, 2, 2)
    fg = torch.zeros(1, 1, 4, 4)
    fg[0, 0, :2, :2] = 1.  # 2x2 avg pool -> [[1, 0], [0, 0]]
    # GAP(F * M') = [F[0,0,0]/4, F[1,0,0]/4] = [0, 1]
    expected = 0.5 * (math.log(1 + math.e) - 0.)
    assert loss(cam, fg,
                torch.tensor([0])).item() == pytest.approx(expected, 1e-6)
    # same size: no resize; (N, h, w) maps accepted
    fg2 = torch.ones(1, 2, 2)
    # GAP = [1.5, 5.5]; CE with target 1
    expected = 0.5 * (math.log(math.exp(1.5) + math.exp(5.5)) - 5.5)
    assert loss(cam, fg2,
                torch.tensor([1])).item() == pytest.approx(expected, 1e-5)


def test_bas_loss_values_and_gradients():
    loss = MODELS.build(dict(type='BASLoss', loss_weight=1.0))
    bg = torch.tensor([0.5, 3., -1., 1.], requires_grad=True)
    fg = torch.tensor([2., 1., 2., -0.5], requires_grad=True)
    # entries: 0.25; clamped (3 > 1) -> 1; relu(-1)=0 -> 0;
    # clamped (1 > -0.5) -> 1
    out = loss(bg, fg)
    assert out.item() == pytest.approx((0.25 + 1 + 0 + 1) / 4, 1e-6)
    out.backward()
    # only the unclamped positive entry has a gradient: 1/(4*2)
    assert torch.allclose(bg.grad, torch.tensor([1 / 8, 0., 0., 0.]))
    assert fg.grad is None  # denominator detached
    # eps in the denominator when relu(S) == 0 and S_bg <= S
    bg = torch.tensor([0.])
    fg = torch.tensor([0.])
    assert loss(bg, fg).item() == 0.
    small = torch.tensor([1e-9])
    ratio = loss.ratio(small, torch.tensor([1e-9]))
    assert ratio.item() == pytest.approx(1e-9 / (1e-9 + 1e-8), 1e-5)
    assert MODELS.build(dict(type='BASLoss', loss_weight=2.))(torch.tensor(
        [1.]), torch.tensor([4.])).item() == pytest.approx(0.5)


def test_area_loss():
    loss = MODELS.build(dict(type='AreaLoss', loss_weight=1.5))
    m = torch.tensor([[[[0., 1.], [0.5, 0.5]]]])
    assert loss(m).item() == pytest.approx(1.5 * 0.5)


@pytest.mark.parametrize('cfg,args', [
    (dict(type='BASCrossEntropyLoss'), lambda:
     (torch.randn(2, 3), torch.tensor([0, 2]))),
    (dict(type='MultiLabelPosNegLoss'), lambda:
     (torch.randn(2, 3), torch.tensor([[1, 0, 1], [0, 1, 0]]))),
    (dict(type='ForegroundGuidanceLoss'), lambda:
     (torch.randn(2, 3, 2, 2), torch.rand(2, 1, 4, 4), torch.tensor([0, 2]))),
    (dict(type='BASLoss'), lambda: (torch.randn(2), torch.randn(2))),
    (dict(type='AreaLoss'), lambda: (torch.rand(2, 1, 4, 4), )),
])
def test_losses_are_fp32_for_bf16_inputs(cfg, args):
    loss = MODELS.build(cfg)
    inputs = [
        a.to(torch.bfloat16) if a.is_floating_point() else a for a in args()
    ]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(*inputs)
    assert out.dtype == torch.float32
    # float64 keeps its precision (used by the fidelity tests)
    inputs = [a.double() if a.is_floating_point() else a for a in args()]
    assert loss(*inputs).dtype == torch.float64
