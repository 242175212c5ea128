# Copyright (c) mmbas contributors. All rights reserved.
"""The sparse IRN random walk against a literal dense implementation."""
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmbas.pseudo.random_walk import (load_refined_maps, random_walk,
                                      refine_maps, refine_maps_batch,
                                      refined_to_label, save_refined_maps,
                                      sparse_transition)


# ----------------------------------------------------------------------
# the reference, written out literally (float64, dense n x n matrices)
def _path(dy, dx):
    """Pixels of the box spanned by (0, 0) and (dy, dx) closer than one pixel
    to the line through them (distance by the area formula)."""
    length = math.hypot(dy, dx)
    return [(y, x) for y in range(min(0, dy),
                                  max(0, dy) + 1)
            for x in range(min(0, dx),
                           max(0, dx) + 1)
            if abs(dy * x - dx * y) / length < 1.0]


def _dense_affinity(edge, beta, radius):
    """A (n, n): aff ** beta for the pairs closer than radius, 1 on the
    diagonal; one explicit double loop over pixel pairs."""
    h, w = edge.shape
    n = h * w
    a = torch.zeros(n, n, dtype=torch.float64)
    for p in range(n):
        py, px = divmod(p, w)
        a[p, p] = 1.0
        for q in range(n):
            qy, qx = divmod(q, w)
            dy, dx = qy - py, qx - px
            if (dy, dx) == (0, 0) or dy * dy + dx * dx >= radius * radius:
                continue
            if dy < 0 or (dy == 0 and dx < 0):
                continue  # the pair is set from its other end
            m = max(float(edge[py + sy, px + sx]) for sy, sx in _path(dy, dx))
            a[p, q] = a[q, p] = (1.0 - m)**beta
    return a


def _dense_walk(maps, edge, beta, exp_times, radius, affinity=None):
    """maps (K, h, w), edge (h, w) -> (K, h, w), the reference way."""
    k, h, w = maps.shape
    maps = maps.double()
    edge = edge.double()
    a = _dense_affinity(edge, beta, radius) if affinity is None else affinity
    trans = a / a.sum(0, keepdim=True)
    for _ in range(exp_times):
        trans = torch.matmul(trans, trans)
    y = (maps * (1 - edge)).reshape(k, h * w)
    return (y @ trans).reshape(k, h, w)


def _smooth(gen, shape, scale):
    """Random smooth field in [0, 1]: coarse noise, bilinear upsampling."""
    coarse = torch.rand(
        (1, 1) + tuple(max(2, s // scale) for s in shape),
        generator=gen,
        dtype=torch.float64)
    up = F.interpolate(coarse, size=shape, mode='bilinear', align_corners=True)
    return up[0, 0]


def _case(seed, k, h, w):
    """Random maps and a boundary map, float64 holding float32 values (so the
    float32 walk and the float64 reference see the same input)."""
    gen = torch.Generator().manual_seed(seed)
    maps = torch.rand(k, h, w, generator=gen, dtype=torch.float64)
    # a boundary ridge plus weaker texture
    edge = 0.5 * _smooth(gen, (h, w), 3)
    edge[:, w // 2] = 0.9
    return maps.float().double(), edge.float().double()


_DENSE_CACHE = {}


def _dense_cached(seed, k, h, w, beta, exp_times, radius):
    key = (seed, k, h, w, beta, exp_times, radius)
    if key not in _DENSE_CACHE:
        maps, edge = _case(seed, k, h, w)
        _DENSE_CACHE[key] = _dense_walk(maps, edge, beta, exp_times, radius)
    return _DENSE_CACHE[key]


# ----------------------------------------------------------------------
def test_path_rederivation_matches_module():
    from mmbas.models.utils import pair_offsets, segment_pixels
    for dy, dx in pair_offsets(5):
        assert sorted(_path(dy, dx)) == sorted(segment_pixels(dy, dx))


def test_transition_rows_match_dense():
    maps, edge = _case(0, 1, 6, 7)
    trans = sparse_transition(edge[None, None], beta=10, radius=5)
    dense = _dense_affinity(edge, 10, 5)
    dense = dense / dense.sum(0, keepdim=True)
    torch.testing.assert_close(trans.to_dense(), dense.t(), rtol=1e-12, atol=0)
    # at most 69 entries per row, 47 for a 6 x 7 grid's centre pixel
    counts = trans.crow_indices().diff()
    assert int(counts.max()) <= 69


@pytest.mark.parametrize('h,w', [(9, 11), (13, 7)])
@pytest.mark.parametrize('exp_times', range(1, 9))
def test_sparse_equals_dense(h, w, exp_times):
    maps, edge = _case(1, 2, h, w)
    ref = _dense_cached(1, 2, h, w, 10, exp_times, 5)
    out64 = random_walk(
        maps[None], edge[None, None], beta=10, exp_times=exp_times, radius=5)
    assert out64.dtype == torch.float64 and out64.shape == (1, 2, h, w)
    torch.testing.assert_close(out64[0], ref, rtol=1e-10, atol=0)
    # float32 in and out (the walk itself runs in float64 by default)
    out32 = random_walk(
        maps[None].float(),
        edge[None, None].float(),
        beta=10,
        exp_times=exp_times,
        radius=5)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32[0].double(), ref, rtol=1e-5, atol=0)
    # an all-float32 walk: 2 ** exp_times roundings of T accumulate
    # (measured up to 1.1e-4 elementwise at 256 steps)
    fp32 = random_walk(
        maps[None].float(),
        edge[None, None].float(),
        beta=10,
        exp_times=exp_times,
        radius=5,
        dtype=torch.float32)
    scale = float(ref.abs().max())
    torch.testing.assert_close(
        fp32[0].double(), ref, rtol=5e-4, atol=5e-5 * scale)


@pytest.mark.parametrize('radius,beta', [(3, 10), (4, 2)])
def test_other_radius_and_beta(radius, beta):
    maps, edge = _case(2, 3, 8, 9)
    ref = _dense_walk(maps, edge, beta, 5, radius)
    out = random_walk(
        maps[None].float(),
        edge[None].float(),
        beta=beta,
        exp_times=5,
        radius=radius)
    torch.testing.assert_close(out[0].double(), ref, rtol=1e-5, atol=0)


def test_padded_batch_equals_single_images():
    sizes = [(9, 11), (13, 7), (5, 6)]
    h, w = 13, 11
    batch = torch.zeros(3, 2, h, w)
    edge = torch.rand(3, 1, h, w)  # garbage in the padding: must not leak
    for i, (bh, bw) in enumerate(sizes):
        maps_i, edge_i = _case(10 + i, 2, bh, bw)
        batch[i, :, :bh, :bw] = maps_i.float()
        edge[i, 0, :bh, :bw] = edge_i.float()
    out = random_walk(batch, edge, exp_times=8, valid_sizes=sizes)
    for i, (bh, bw) in enumerate(sizes):
        ref = _dense_cached(10 + i, 2, bh, bw, 10, 8, 5)
        torch.testing.assert_close(
            out[i, :, :bh, :bw].double(), ref, rtol=1e-5, atol=0)
        assert float(out[i, :, bh:].abs().sum()) == 0
        assert float(out[i, :, :, bw:].abs().sum()) == 0


def test_boundary_free_is_plain_diffusion():
    h, w, radius = 7, 8, 3
    n = h * w
    # adjacency of the disc, built without any path: every pair is 1
    adj = torch.zeros(n, n, dtype=torch.float64)
    for p in range(n):
        for q in range(n):
            dy = q // w - p // w
            dx = q % w - p % w
            if dy * dy + dx * dx < radius * radius:
                adj[p, q] = 1.0
    gen = torch.Generator().manual_seed(3)
    maps = torch.rand(2, h, w, generator=gen, dtype=torch.float64)
    edge = torch.zeros(h, w, dtype=torch.float64)
    ref = _dense_walk(maps, edge, 10, 4, radius, affinity=adj)
    out = random_walk(maps[None], edge[None, None], exp_times=4, radius=radius)
    torch.testing.assert_close(out[0], ref, rtol=1e-10, atol=0)
    # a constant map is a fixed point of y <- y T (columns of T sum to 1)
    flat = random_walk(
        torch.full((1, 1, h, w), 0.3),
        torch.zeros(1, 1, h, w),
        exp_times=8,
        radius=radius)
    torch.testing.assert_close(flat, torch.full_like(flat, 0.3))


def test_bad_inputs():
    with pytest.raises(ValueError, match='maps must be'):
        random_walk(torch.zeros(2, 4, 4), torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match='does not match'):
        random_walk(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match='valid_sizes'):
        random_walk(
            torch.zeros(1, 2, 4, 4),
            torch.zeros(1, 1, 4, 4),
            valid_sizes=[(5, 4)])
    empty = random_walk(torch.zeros(1, 0, 4, 4), torch.zeros(1, 1, 4, 4))
    assert empty.shape == (1, 0, 4, 4)


def test_walk_threads(monkeypatch):
    """The CPU walk runs its steps with ``num_threads`` intra-op threads (1 by
    default), gives the same result as with torch's threads and restores
    torch's setting, also after an error."""
    maps, edge = _case(7, 2, 9, 8)
    seen = []
    sparse_mm = torch.sparse.mm

    def spy(a, b):
        seen.append(torch.get_num_threads())
        return sparse_mm(a, b)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(torch.sparse, 'mm', spy)
        one = random_walk(maps[None], edge[None, None], exp_times=3)
        assert seen == [1] * 8 and torch.get_num_threads() == 2
        seen.clear()
        two = random_walk(
            maps[None], edge[None, None], exp_times=3, num_threads=None)
        assert seen == [2] * 8
        torch.testing.assert_close(one, two, rtol=1e-12, atol=0)
        seen.clear()
        refine_maps(maps, edge, (36, 32), exp_times=2)
        assert seen == [1] * 4 and torch.get_num_threads() == 2

        def fail(a, b):
            raise RuntimeError('step failed')

        monkeypatch.setattr(torch.sparse, 'mm', fail)
        with pytest.raises(RuntimeError, match='step failed'):
            random_walk(maps[None], edge[None, None], exp_times=3)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match='num_threads'):
            random_walk(maps[None], edge[None, None], num_threads=bad)


# ----------------------------------------------------------------------
def test_refine_maps_is_irn_inference():
    size = (37, 43)  # grid 10 x 11, the x4 upsampling is cropped
    gen = torch.Generator().manual_seed(4)
    maps = torch.rand(2, 10, 11, generator=gen)
    edge = _smooth(gen, (10, 11), 3).float() * 0.6
    out = refine_maps(maps, edge, size, exp_times=3)
    assert out.shape == (2, 37, 43) and out.dtype == torch.float32
    rw = _dense_walk(maps.double()**1.5, edge.double(), 10, 3, 5)
    up = F.interpolate(
        rw[None], scale_factor=4, mode='bilinear',
        align_corners=False)[0, :, :37, :43]
    ref = up / up.max()
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-7)
    assert float(out.max()) == pytest.approx(1.0)
    # numpy input, (1, h, w) edge
    out_np = refine_maps(maps.numpy(), edge[None].numpy(), size, exp_times=3)
    torch.testing.assert_close(out_np, out)


def test_refine_maps_batch_equals_single():
    gen = torch.Generator().manual_seed(5)
    sizes = [(37, 43), (20, 17), (64, 30)]
    maps, edges = [], []
    for k, (hh, ww) in zip([2, 1, 3], sizes):
        gh, gw = math.ceil(hh / 4), math.ceil(ww / 4)
        maps.append(torch.rand(k, gh, gw, generator=gen))
        edges.append(torch.rand(gh, gw, generator=gen) * 0.5)
    batch = refine_maps_batch(maps, edges, sizes, exp_times=6)
    for m, e, s, b in zip(maps, edges, sizes, batch):
        assert b.shape == (m.shape[0], ) + s
        torch.testing.assert_close(
            b, refine_maps(m, e, s, exp_times=6), rtol=1e-5, atol=1e-6)


def test_refine_maps_full_resolution_input():
    size = (18, 21)  # grid 5 x 6
    const = torch.full((1, 18, 21), 0.4)
    out = refine_maps(const, torch.zeros(5, 6), size)
    torch.testing.assert_close(out, torch.ones(1, 18, 21))
    # 4 x 4 averages on the grid, the last row / column replicate-padded
    ramp = torch.arange(18.).view(1, 18, 1).expand(1, 18, 21)
    grid_maps = torch.tensor([1.5, 5.5, 9.5, 13.5, 16.75]).view(1, 5, 1)
    grid_maps = grid_maps.expand(1, 5, 6)
    torch.testing.assert_close(
        refine_maps(ramp, torch.zeros(5, 6), size, exp_times=2),
        refine_maps(grid_maps, torch.zeros(5, 6), size, exp_times=2))
    with pytest.raises(ValueError, match='stride-4 grid'):
        refine_maps(torch.zeros(1, 6, 6), torch.zeros(5, 6), size)
    with pytest.raises(ValueError, match='edge'):
        refine_maps(torch.zeros(1, 5, 6), torch.zeros(6, 6), size)


def test_refined_to_label():
    maps = torch.tensor([[[0.1, 0.5, 0.3], [0.22, 0.0, 0.9]],
                         [[0.2, 0.6, 0.3], [0.1, 0.0, 0.95]]])
    label = refined_to_label(maps, [4, 11], bg_threshold=0.22)
    assert label.dtype == np.uint8
    # ties go to the background, then to the first class
    assert label.tolist() == [[0, 12, 5], [0, 0, 12]]
    assert refined_to_label(maps, [4, 11], 0.7).tolist() == [[0, 0, 0],
                                                             [0, 0, 12]]
    empty = refined_to_label(np.zeros((0, 2, 3)), [])
    assert empty.tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match='labels'):
        refined_to_label(maps, [4])


def test_save_load_round_trip(tmp_path):
    gen = np.random.default_rng(0)
    maps = gen.random((2, 9, 7)).astype(np.float32)
    path = str(tmp_path / 'sub' / 'img_001.npz')
    save_refined_maps(path, torch.from_numpy(maps), [4, 11])
    assert os.listdir(tmp_path / 'sub') == ['img_001.npz']  # no temp left
    with np.load(path) as data:
        assert data['maps'].dtype == np.float16
        assert data['classes'].tolist() == [5, 12]
    back, labels = load_refined_maps(path)
    assert back.dtype == np.float32 and back.shape == (2, 9, 7)
    assert labels.tolist() == [4, 11]
    np.testing.assert_allclose(back, maps, rtol=1e-3, atol=1e-4)
    # the same maps give the same bytes
    first = open(path, 'rb').read()
    save_refined_maps(path, maps, [4, 11])
    assert open(path, 'rb').read() == first
    with pytest.raises(ValueError, match='labels'):
        save_refined_maps(path, maps, [4])
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='bad.npz'):
        load_refined_maps(str(bad))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_equals_cpu():
    maps, edge = _case(6, 3, 31, 40)
    cpu = random_walk(maps[None].float(), edge[None, None].float())
    gpu = random_walk(maps[None].float().cuda(), edge[None,
                                                      None].float().cuda())
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-7)
    sizes = [(37, 43), (64, 30)]
    ms = [torch.rand(2, 10, 11), torch.rand(1, 16, 8)]
    es = [torch.rand(10, 11) * 0.5, torch.rand(16, 8) * 0.5]
    out_cpu = refine_maps_batch(ms, es, sizes)
    out_gpu = refine_maps_batch(ms, es, sizes, device='cuda')
    for a, b in zip(out_cpu, out_gpu):
        assert b.is_cuda
        torch.testing.assert_close(b.cpu(), a, rtol=1e-5, atol=1e-6)
