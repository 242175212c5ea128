# Copyright (c) mmbas contributors. All rights reserved.
import math

import pytest
import torch

from mmbas.models.losses import AffinityLoss
from mmbas.models.losses.affinity_loss import pair_labels, partner_values
from mmbas.models.utils import pair_offsets, segment_pixels

EPS = 1e-5

# 2 x 3 grid, radius 2: offsets (0, 1), (1, -1), (1, 0), (1, 1)
LABEL = [[1, 1, 0], [1, 255, 0]]
BOUNDARY = [[0.1, 0.2, 0.7], [0.3, 0.9, 0.4]]
DISP_Y = [[0., 1., 0.], [0., 0., 2.]]
DISP_X = [[0., 0., 1.], [1., 0., 0.]]


def _inputs(dtype=torch.float64):
    label = torch.tensor([LABEL])
    boundary = torch.tensor([[BOUNDARY]], dtype=dtype)
    disp = torch.tensor([[DISP_Y, DISP_X]], dtype=dtype)
    return boundary, label, disp


def test_pair_labels_by_hand():
    _, label, _ = _inputs()
    bg_pos, fg_pos, neg = pair_labels(label, radius=2)
    assert pair_offsets(2) == [(0, 1), (1, -1), (1, 0), (1, 1)]

    def pairs(mask):
        return sorted((k, y, x) for _, k, y, x in mask.nonzero().tolist())

    # (offset index, y, x) of the source pixel; pairs with 255 or off the
    # grid are left out
    assert pairs(fg_pos) == [(0, 0, 0), (1, 0, 1), (2, 0, 0)]
    assert pairs(bg_pos) == [(2, 0, 2)]
    assert pairs(neg) == [(0, 0, 1), (3, 0, 1)]


def test_loss_by_hand():
    """Pairs (source -> partner, offset): fg A (0,0)->(0,1) (0,1), B
    (0,0)->(1,0) (1,0), C (0,1)->(1,0) (1,-1); neg D (0,1)->(0,2) (0,1), E
    (0,1)->(1,2) (1,1); bg F (0,2)->(1,2) (1,0).

    Affinity = 1 - max boundary over the segment: A max(.1,.2) -> .8,
    B max(.1,.3) -> .7, C the 2x2 block (0..1, 0..1) -> 1 - .9 = .1,
    D max(.2,.7) -> .3, E the block (0..1, 1..2) -> .1, F max(.7,.4) -> .3.

    Displacement d = D(p) - D(q) against the offset (dy, dx):
    A (0,0)-(1,0) = (-1,0) vs (0,1): |.| = 2; B (0,0)-(0,1) = (0,-1) vs
    (1,0): 2; C (1,0)-(0,1) = (1,-1) vs (1,-1): 0; F (0,1)-(2,0) =
    (-2,1): |d| = 3.
    """
    boundary, label, disp = _inputs()
    loss = AffinityLoss(radius=2)
    out = loss(boundary, label, disp)
    log = math.log
    fg = (-log(.8 + EPS) - log(.7 + EPS) - log(.1 + EPS)) / (3 + EPS)
    bg = -log(.3 + EPS) / (1 + EPS)
    neg = (-log(1 + EPS - .3) - log(1 + EPS - .1)) / (2 + EPS)
    disp_fg = (2 + 2 + 0) / (2 * 3 + EPS)
    disp_bg = 3 / (2 * 1 + EPS)
    expected = dict(
        aff_fg_pos=fg,
        aff_bg_pos=bg,
        aff_neg=neg,
        loss_edge=((bg + fg) / 2 + neg) / 2,
        disp_fg=disp_fg,
        disp_bg=disp_bg,
        loss_disp=(disp_fg + disp_bg) / 2)
    assert set(out) == set(expected)
    for key, value in expected.items():
        assert out[key].item() == pytest.approx(value, rel=1e-12), key
    for key in ('aff_fg_pos', 'disp_fg'):
        assert not out[key].requires_grad

    # weights, names
    loss = AffinityLoss(
        radius=2,
        loss_weight=3.,
        disp_loss_weight=0.5,
        loss_name='loss_b',
        disp_loss_name='loss_d')
    out = loss(boundary, label, disp)
    assert out['loss_b'].item() == pytest.approx(
        3 * expected['loss_edge'], rel=1e-12)
    assert out['loss_d'].item() == pytest.approx(
        0.5 * expected['loss_disp'], rel=1e-12)
    # no displacement: the boundary terms only
    out = AffinityLoss(radius=2)(boundary, label)
    assert set(out) == {'loss_edge', 'aff_fg_pos', 'aff_bg_pos', 'aff_neg'}


def test_full_resolution_labels_are_subsampled():
    """A label map at 4x the grid is read at every 4th pixel (IRN's nearest
    resize), whatever the other pixels say."""
    boundary, label, disp = _inputs()
    full = torch.full((1, 8, 12), 7, dtype=torch.long)
    full[:, ::4, ::4] = label
    ref = AffinityLoss(radius=2)(boundary, label, disp)
    out = AffinityLoss(radius=2)(boundary, full, disp)
    for key in ref:
        torch.testing.assert_close(out[key], ref[key])


def test_gradients_reach_boundary_and_displacement():
    boundary, label, disp = _inputs()
    boundary.requires_grad_(True)
    disp.requires_grad_(True)
    out = AffinityLoss(radius=2)(boundary, label, disp)
    (out['loss_edge'] + out['loss_disp']).backward()
    assert boundary.grad.abs().sum() > 0 and disp.grad.abs().sum() > 0
    # the gradient of a path goes to its maximum: (0,1) = .2 is the maximum
    # of fg pair A only (raising it raises the loss), (0,0) = .1 of none
    assert boundary.grad[0, 0, 0, 1] > 0
    assert boundary.grad[0, 0, 0, 0] == 0
    # (1,2) = .4 is no path's maximum either; (0,2) = .7 is the maximum of
    # neg pair D (raising it lowers the loss) and of bg pair F (raises it)
    assert boundary.grad[0, 0, 1, 2] == 0
    # the displacement of the ignored pixel (1,1) gets no gradient
    assert disp.grad[0, :, 1, 1].abs().sum() == 0


def test_empty_pair_sets_are_zero():
    boundary = torch.full((1, 1, 3, 3), 0.5)
    label = torch.full((1, 3, 3), 255)
    label[0, 0, 0] = 1
    out = AffinityLoss(radius=2)(boundary, label, torch.zeros(1, 2, 3, 3))
    for key, value in out.items():
        assert value.item() == 0, key


def _reference_loss(boundary, label, disp, radius):
    """Literal loops over pixels and offsets."""
    _, _, h, w = boundary.shape
    sums = dict(bg=[0., 0], fg=[0., 0], neg=[0., 0], dfg=[0., 0], dbg=[0., 0])
    for dy, dx in pair_offsets(radius):
        path = segment_pixels(dy, dx)
        for y in range(h):
            for x in range(w):
                qy, qx = y + dy, x + dx
                if not (0 <= qy < h and 0 <= qx < w):
                    continue
                lp, lq = int(label[0, y, x]), int(label[0, qy, qx])
                if 255 in (lp, lq):
                    continue
                aff = 1 - max(
                    float(boundary[0, 0, y + sy, x + sx]) for sy, sx in path)
                d = disp[0, :, y, x] - disp[0, :, qy, qx]
                if lp == lq:
                    key = 'bg' if lp == 0 else 'fg'
                    sums[key][0] += -math.log(aff + EPS)
                    sums[key][1] += 1
                    if lp == 0:
                        sums['dbg'][0] += float(d.abs().sum())
                        sums['dbg'][1] += 2
                    else:
                        target = torch.tensor([dy, dx], dtype=d.dtype)
                        sums['dfg'][0] += float((d - target).abs().sum())
                        sums['dfg'][1] += 2
                else:
                    sums['neg'][0] += -math.log(1 + EPS - aff)
                    sums['neg'][1] += 1
    m = {k: s / (c + EPS) for k, (s, c) in sums.items()}
    return dict(
        loss_edge=((m['bg'] + m['fg']) / 2 + m['neg']) / 2,
        loss_disp=(m['dfg'] + m['dbg']) / 2)


def test_matches_literal_loops():
    gen = torch.Generator().manual_seed(0)
    h, w = 7, 9
    label = torch.randint(0, 3, (1, h, w), generator=gen)
    label[torch.rand(1, h, w, generator=gen) < 0.2] = 255
    boundary = torch.rand(1, 1, h, w, generator=gen, dtype=torch.float64)
    disp = torch.randn(1, 2, h, w, generator=gen, dtype=torch.float64)
    out = AffinityLoss(radius=3)(boundary, label, disp)
    ref = _reference_loss(boundary, label, disp, 3)
    for key, value in ref.items():
        assert out[key].item() == pytest.approx(value, rel=1e-10), key


def test_partner_values():
    x = torch.arange(6.).view(1, 1, 2, 3)
    out = partner_values(x, [(0, 1), (1, -1)], fill=-1.)
    assert out.shape == (1, 1, 2, 2, 3)
    torch.testing.assert_close(out[0, 0, 0],
                               torch.tensor([[1., 2., -1.], [4., 5., -1.]]))
    torch.testing.assert_close(out[0, 0, 1],
                               torch.tensor([[-1., 3., 4.], [-1., -1., -1.]]))


def test_bad_shapes():
    loss = AffinityLoss(radius=2)
    with pytest.raises(ValueError, match='boundary must be'):
        loss(torch.rand(1, 2, 3, 3), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match='displacement must be'):
        loss(
            torch.rand(1, 1, 3, 3), torch.zeros(1, 3, 3),
            torch.zeros(1, 3, 3, 3))
    with pytest.raises(ValueError, match='label maps for'):
        loss(torch.rand(2, 1, 3, 3), torch.zeros(1, 3, 3))
