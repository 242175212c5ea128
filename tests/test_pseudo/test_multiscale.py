# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmbas  # noqa: F401
from mmbas.pseudo import (fuse_maps, multiscale_maps, multiscale_seed_maps,
                          normalise_class_maps, scaled_size)


class StubMaps(nn.Module):
    """forward_maps: stride-4 avg pool + fixed conv + sigmoid; counts calls
    and batch sizes."""

    def __init__(self, c=5):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.calls = []

    def forward_maps(self, x):
        self.calls.append(tuple(x.shape))
        m = torch.sigmoid(self.conv(F.avg_pool2d(x, 4, ceil_mode=True)))
        return m, m.mean((2, 3))


def slow_maps(model, x, scales, flip):
    """Reference: one forward per scale and per flip, one image at a time."""
    h, w = x.shape[-2:]
    total = 0
    for s in scales:
        size = scaled_size((h, w), s)
        xs = x if size == (h, w) else F.interpolate(
            x, size=size, mode='bilinear', align_corners=False)
        for f in ([False, True] if flip else [False]):
            inp = xs.flip(-1) if f else xs
            m, _ = model.forward_maps(inp)
            m = F.interpolate(m, size=(h, w), mode='bilinear',
                              align_corners=False)
            total = total + (m.flip(-1) if f else m)
    return total


@pytest.mark.parametrize('flip', [True, False])
def test_multiscale_equals_loop(flip):
    model = StubMaps()
    x = torch.randn(1, 3, 37, 50)
    scales = (1.0, 0.5, 1.5, 2.0)
    fast = multiscale_maps(model, x, scales, flip)
    # one batch of 2 (image + flip) per scale
    assert [c[0] for c in model.calls] == [2 if flip else 1] * 4
    assert model.calls[1][-2:] == scaled_size((37, 50), 0.5)
    ref = slow_maps(model, x, scales, flip)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)
    # seeds: restricted to the classes, max-normalised
    seeds = multiscale_seed_maps(model, x, torch.tensor([3, 1]), scales,
                                 flip)
    exp = ref.clone()
    exp[:, [0, 2, 4]] = 0
    exp = exp / (exp.amax((2, 3), keepdim=True) + 1e-5)
    torch.testing.assert_close(seeds, exp, rtol=1e-5, atol=1e-6)
    assert seeds[0, [0, 2, 4]].abs().sum() == 0
    assert seeds[0, 1].max() < 1 and seeds[0, 1].max() > 0.9999


def test_batch_and_padded_batch():
    model = StubMaps()
    x = torch.randn(2, 3, 32, 40)
    both = multiscale_seed_maps(model, x, [[0], [2, 4]])
    for i, lab in enumerate([[0], [2, 4]]):
        one = multiscale_seed_maps(model, x[i:i + 1], lab)
        torch.testing.assert_close(both[i], one[0], rtol=1e-5, atol=1e-6)
    # padded batch: each image cropped to its valid region
    outs = multiscale_seed_maps(
        model, x, [[0], [2]], img_shapes=[(32, 40), (20, 28)])
    assert outs[1].shape == (5, 20, 28)
    ref = multiscale_seed_maps(model, x[1:, :, :20, :28], [2])[0]
    torch.testing.assert_close(outs[1], ref)
    # bool multi-hot labels
    mh = torch.zeros(2, 5, dtype=torch.bool)
    mh[0, 0] = mh[1, 2] = mh[1, 4] = True
    torch.testing.assert_close(multiscale_seed_maps(model, x, mh), both)
    with pytest.raises(ValueError, match='out of range'):
        multiscale_seed_maps(model, x[:1], [7])


def test_scores_and_fusion():
    model = StubMaps()
    x = torch.randn(1, 3, 24, 24)
    maps, scores = multiscale_maps(model, x, (1.0, 0.5), True,
                                   return_scores=True)
    assert scores.shape == (1, 5)
    a = torch.rand(1, 5, 6, 7) * 3
    b = torch.rand(1, 5, 6, 7) * 0.2
    lab = [[1, 2]]
    fused = fuse_maps(a, b, lab)
    na = a / (a.amax((2, 3), keepdim=True) + 1e-5)
    nb = b / (b.amax((2, 3), keepdim=True) + 1e-5)
    s = na + nb
    exp = s / (s.amax((2, 3), keepdim=True) + 1e-5)
    exp[:, [0, 3, 4]] = 0
    torch.testing.assert_close(fused, exp)
    # normalise: (C, H, W) input, no labels keeps all
    n = normalise_class_maps(a[0])
    assert n.shape == (5, 6, 7) and (n.amax((1, 2)) > 0.999).all()
