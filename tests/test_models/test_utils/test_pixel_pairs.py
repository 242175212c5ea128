# Copyright (c) mmbas contributors. All rights reserved.
"""IRN pixel pairs: offsets, path rasterisation, path-max affinities."""
import pytest
import torch

from mmbas.models.utils import (boundary_to_affinity, pair_offsets,
                                pair_valid_mask, segment_pixels)


def test_pair_offsets():
    offsets = pair_offsets(5)
    assert len(offsets) == 34
    assert len(set(offsets)) == 34
    assert offsets[:5] == [(0, 1), (0, 2), (0, 3), (0, 4), (1, -4)]
    assert offsets[-1] == (4, 2)
    # half plane: no offset together with its reverse, no self pair
    assert all(dy > 0 or (dy == 0 and dx > 0) for dy, dx in offsets)
    assert all(dy * dy + dx * dx < 25 for dy, dx in offsets)
    # radius 3 by hand: (0, 1..2); (1, -2..2); (2, -2..2)
    assert len(pair_offsets(3)) == 12
    assert (2, 2) in pair_offsets(3) and (0, 3) not in pair_offsets(3)
    with pytest.raises(ValueError, match='radius'):
        pair_offsets(1)


def test_segment_pixels_by_hand():
    assert segment_pixels(0, 3) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert segment_pixels(2, 0) == [(0, 0), (1, 0), (2, 0)]
    # a diagonal step covers the whole 2x2 block
    assert sorted(segment_pixels(1, 1)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # (2, 1): distance of (y, x) to the line = |2x - y| / sqrt(5) < 1
    assert sorted(segment_pixels(2, 1)) == [(0, 0), (0, 1), (1, 0), (1, 1),
                                            (2, 0), (2, 1)]
    # (3, -1): |3x + y| < sqrt(10) within the box y 0..3, x -1..0
    assert sorted(segment_pixels(3, -1)) == [(0, -1), (0, 0), (1, -1), (1, 0),
                                             (2, -1), (2, 0), (3, -1), (3, 0)]
    with pytest.raises(ValueError):
        segment_pixels(0, 0)


@pytest.mark.parametrize('offset', pair_offsets(5))
def test_segment_pixels_symmetric(offset):
    dy, dx = offset
    path = segment_pixels(dy, dx)
    assert path[0] == (0, 0) and path[-1] == (dy, dx)
    assert len(set(path)) == len(path)
    assert {(dy - y, dx - x) for y, x in path} == set(path)


def _affinity_loops(edge, radius):
    """Per-pixel loops over the same definition (H, W) -> (K, H, W)."""
    h, w = edge.shape
    offsets = pair_offsets(radius)
    out = torch.zeros(len(offsets), h, w, dtype=edge.dtype)
    for k, (dy, dx) in enumerate(offsets):
        for y in range(h):
            for x in range(w):
                if not (0 <= y + dy < h and 0 <= x + dx < w):
                    continue
                m = max(edge[y + sy, x + sx].item()
                        for sy, sx in segment_pixels(dy, dx))
                out[k, y, x] = 1 - m
    return out


def test_boundary_to_affinity_hand_checked():
    edge = torch.zeros(1, 1, 5, 5)
    edge[0, 0, 2, 2] = 0.75
    edge[0, 0, 0, 4] = 0.5
    aff = boundary_to_affinity(edge, radius=3)
    k = {o: i for i, o in enumerate(pair_offsets(3))}
    # (2, 0) -> (2, 1): clear
    assert aff[0, k[0, 1], 2, 0] == 1
    # (2, 1) -> (2, 2) and (2, 0) -> (2, 2) cross the boundary pixel
    assert aff[0, k[0, 1], 2, 1] == 0.25
    assert aff[0, k[0, 2], 2, 0] == 0.25
    # (1, 1) -> (2, 2) covers the 2x2 block, (1, 2) -> (2, 1) too
    assert aff[0, k[1, 1], 1, 1] == 0.25
    assert aff[0, k[1, -1], 1, 2] == 0.25
    # (1, 0) -> (2, 1): path (1, 0), (1, 1), (2, 0), (2, 1): clear
    assert aff[0, k[1, 1], 1, 0] == 1
    # (0, 2) -> (0, 4) ends on the weaker boundary pixel
    assert aff[0, k[0, 2], 0, 2] == 0.5
    # partners outside the image: no pair
    assert aff[0, k[0, 1], 3, 4] == 0
    assert aff[0, k[2, 0], 3, 0] == 0
    assert aff[0, k[1, -1], 0, 0] == 0


def test_boundary_to_affinity_matches_loops():
    gen = torch.Generator().manual_seed(0)
    edge = torch.rand(2, 9, 11, generator=gen, dtype=torch.float64)
    aff = boundary_to_affinity(edge, radius=5)
    assert aff.shape == (2, 34, 9, 11) and aff.dtype == torch.float64
    for i in range(2):
        torch.testing.assert_close(
            aff[i], _affinity_loops(edge[i], 5), rtol=0, atol=0)
    mask = pair_valid_mask((9, 11), 5)
    assert mask.shape == (1, 34, 9, 11)
    assert bool((aff[:, ~mask[0]] == 0).all())


def test_padded_batch_equals_single_images():
    gen = torch.Generator().manual_seed(1)
    sizes = [(7, 10), (5, 6), (7, 4)]
    batch = torch.rand(3, 1, 7, 10, generator=gen)
    aff = boundary_to_affinity(batch, 5, valid_sizes=sizes)
    mask = pair_valid_mask((7, 10), 5, valid_sizes=sizes)
    assert mask.shape == (3, 34, 7, 10)
    for i, (h, w) in enumerate(sizes):
        alone = boundary_to_affinity(batch[i:i + 1, :, :h, :w], 5)
        torch.testing.assert_close(aff[i:i + 1, :, :h, :w], alone)
        # nothing outside the valid block, nothing pointing out of it
        assert not mask[i, :, h:].any() and not mask[i, :, :, w:].any()
        assert float(aff[i, :, h:].abs().sum()) == 0
        assert torch.equal(mask[i, :, :h, :w], pair_valid_mask((h, w), 5)[0])
    with pytest.raises(ValueError, match='valid_sizes'):
        boundary_to_affinity(batch, 5, valid_sizes=[(8, 10)] * 3)
    with pytest.raises(ValueError, match='valid_sizes'):
        boundary_to_affinity(batch, 5, valid_sizes=sizes[:2])


def test_gradient_flows_to_path_max():
    gen = torch.Generator().manual_seed(2)
    edge = torch.rand(1, 1, 6, 7, generator=gen, dtype=torch.float64)
    edge.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda e: boundary_to_affinity(e, radius=3), (edge, ))
    # one pair: the gradient is -1 at its path's maximum only
    k = pair_offsets(3).index((1, 1))
    aff = boundary_to_affinity(edge, radius=3)
    aff[0, k, 2, 3].backward()
    block = edge.detach()[0, 0, 2:4, 3:5]
    grad = edge.grad[0, 0]
    assert float(grad.sum()) == -1
    flat = int(block.argmax())
    assert grad[2 + flat // 2, 3 + flat % 2] == -1


def test_bad_edge_shape():
    with pytest.raises(ValueError, match='edge must be'):
        boundary_to_affinity(torch.zeros(1, 2, 4, 4))
