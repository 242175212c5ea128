# Copyright (c) mmbas contributors. All rights reserved.
"""The losses' shared base and the single-label CE on mmseg's."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS

import mmbas  # noqa: F401
from mmbas.models.losses import BaseLoss

LOSSES = ('BASCrossEntropyLoss', 'MultiLabelPosNegLoss',
          'ForegroundGuidanceLoss', 'BASLoss', 'AreaLoss')


@pytest.mark.parametrize('name', LOSSES)
def test_losses_share_the_base(name):
    loss = MODELS.build(dict(type=name, loss_weight=0.5, loss_name='loss_x'))
    assert isinstance(loss, BaseLoss)
    assert loss.loss_name == 'loss_x' and loss.loss_weight == 0.5
    with pytest.raises(ValueError, match=f"{name}.*start with 'loss'"):
        MODELS.build(dict(type=name, loss_name='x'))


def test_base_loss_weight_and_precision():

    class Square(BaseLoss):

        def compute(self, x, label):
            self.seen = (x.dtype, label.dtype)
            return (x**2).mean()

    loss = Square(loss_weight=3.)
    x = torch.tensor([1., 2.])
    assert loss(x, torch.tensor([1])).item() == pytest.approx(7.5)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(x.bfloat16(), torch.tensor([1]))
    assert out.dtype == torch.float32
    assert loss.seen == (torch.float32, torch.int64)
    assert loss(x.double(), torch.tensor([1])).dtype == torch.float64
    with pytest.raises(TypeError):
        BaseLoss()  # compute is abstract
    with pytest.raises(TypeError, match='tensor inputs'):
        loss(None)


def _previous_ce(loss_weight, score, label):
    """mmbas's single-label CE before it used mmseg's CrossEntropyLoss."""
    return loss_weight * F.cross_entropy(score, label.long())


@pytest.mark.parametrize('dtype,rtol', [(torch.float64, 1e-14),
                                        (torch.float32, 1e-6)])
def test_ce_equals_previous_implementation(dtype, rtol):
    loss = MODELS.build(dict(type='BASCrossEntropyLoss', loss_weight=0.7))
    assert isinstance(loss.ce, CrossEntropyLoss)
    gen = torch.Generator().manual_seed(0)
    for n, c in [(1, 3), (4, 5), (7, 20), (32, 200), (128, 1000)]:
        score = (3 * torch.randn(n, c, generator=gen, dtype=dtype))
        label = torch.randint(0, c, (n, ), generator=gen)
        a = score.clone().requires_grad_()
        b = score.clone().requires_grad_()
        new, old = loss(a, label), _previous_ce(0.7, b, label)
        torch.testing.assert_close(new, old, rtol=rtol, atol=0)
        new.backward()
        old.backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=rtol, atol=1e-18)


def test_ce_does_not_use_mmsegs_mean():
    # mmseg's reduction='mean' divides the sum by N + float32 eps: a
    # relative change of about 1.2e-7 / N, which BAS does not have
    score = torch.randn(4, 5, dtype=torch.float64)
    label = torch.tensor([0, 1, 2, 3])
    ours = MODELS.build(dict(type='BASCrossEntropyLoss'))(score, label)
    mmseg_mean = CrossEntropyLoss(use_sigmoid=False)(score, label)
    ratio = (mmseg_mean / ours).item()
    assert ratio == pytest.approx(
        4 / (4 + torch.finfo(torch.float32).eps), rel=1e-12)
    assert abs(ratio - 1) > 1e-9
