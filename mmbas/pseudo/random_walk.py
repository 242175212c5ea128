# Copyright (c) mmbas contributors. All rights reserved.
"""IRN random walk (Ahn et al., CVPR 2019) as an exact sparse iteration.

The reference IRN inference builds, over the ``n = h * w`` pixels of the
stride-4 grid, the dense symmetric affinity matrix ``A`` (``A_pq =
aff_pq ** beta`` for the pairs of :mod:`mmbas.models.utils.pixel_pairs`,
both directions, ``A_pp = 1``, 0 elsewhere), the transition matrix
``T = A / column sums`` (``T_pq = A_pq / sum_k A_kq``), squares ``T``
``exp_times`` times and returns ``y @ T ** (2 ** exp_times)`` with
``y = maps * (1 - edge)``: 26-61 TFLOP and gigabytes per VOC image.

Here the same product is evaluated as ``y <- y T`` applied ``2 **
exp_times`` times. In column form ``Y <- M Y`` with ``M = T^T``, ``M_qp =
A_qp / sum_k A_kq``: row ``q`` of ``M`` holds ``q``'s at most ``2K + 1``
neighbours (69 at radius 5), stored as one CSR matrix (block diagonal
over a batch of images), so a step costs ``O(69 n)`` and the memory is
``O(N K n + N 69 n)``. No host synchronisation inside the loop; CPU and
CUDA alike. On the CPU the walk runs with one intra-op thread by default
(``num_threads``): a step is a ~1 ms product, and each of the few
parallel regions of a step costs more than that on a CPU shared with
other busy processes (docs/benchmarks.md).

On top of it: the whole IRN refinement of an image (maps ** 1.5, walk,
bilinear x4 upsampling, crop, division by the global max;
:func:`refine_maps`, :func:`refine_maps_batch`), the label map with the
background threshold (:func:`refined_to_label`, 0.22 for BAS) and a
compact store of refined maps (float16, image classes only;
:func:`save_refined_maps` / :func:`load_refined_maps`) so that threshold
sweeps and exports reuse one walk.
"""
import contextlib
import math
import os
import os.path as osp
import warnings
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmbas.models.utils.pixel_pairs import (ValidSizes, as_valid_sizes,
                                            boundary_to_affinity, pair_offsets,
                                            pair_valid_mask)

#: BAS's IRN settings (docs/method.md section 4)
IRN_BETA = 10
IRN_EXP_TIMES = 8
IRN_RADIUS = 5
IRN_POWER = 1.5
IRN_BG_THRESHOLD = 0.22
#: stride of the IRN grid w.r.t. the image
IRN_STRIDE = 4
#: torch intra-op threads of a walk on the CPU (see :func:`random_walk`)
WALK_THREADS = 1

ArrayLike = Union[Tensor, np.ndarray]


def neighbour_offsets(radius: int = IRN_RADIUS) -> List[Tuple[int, int]]:
    """All offsets of the walk: the reversed half-plane offsets, the
    self-loop ``(0, 0)`` and the half-plane offsets, in lexicographic
    ``(dy, dx)`` order (``2K + 1`` = 69 at radius 5)."""
    half = pair_offsets(radius)
    return [(-dy, -dx) for dy, dx in reversed(half)] + [(0, 0)] + half


def _full_affinity(edge: Tensor, beta: float, radius: int,
                   valid_sizes: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """``A[q, q + o]`` for every offset ``o`` of :func:`neighbour_offsets`.

    Returns ``(weights, mask)``, both (N, 2K + 1, h, w): the affinity
    ``aff ** beta`` (1 for the self-loop) and whether the pair exists.
    """
    n, _, h, w = edge.shape
    half = pair_offsets(radius)
    r = radius - 1
    aff = boundary_to_affinity(edge, radius, valid_sizes).pow(beta)
    mask = pair_valid_mask((h, w), radius, valid_sizes, edge.device)
    mask = mask.expand(n, -1, -1, -1)
    # A[q, q - o_k] is the pair starting at q - o_k: shift channel k by o_k
    aff_pad = F.pad(aff, (r, r, r, 0))
    mask_pad = F.pad(mask, (r, r, r, 0))
    rev_w, rev_m = [], []
    for k in reversed(range(len(half))):
        dy, dx = half[k]
        ys = slice(r - dy, r - dy + h)
        xs = slice(r - dx, r - dx + w)
        rev_w.append(aff_pad[:, k, ys, xs])
        rev_m.append(mask_pad[:, k, ys, xs])
    if valid_sizes is None:
        self_m = edge.new_ones((n, h, w), dtype=torch.bool)
    else:
        ys = torch.arange(h, device=edge.device).view(1, h, 1)
        xs = torch.arange(w, device=edge.device).view(1, 1, w)
        self_m = (ys < valid_sizes[:, 0].view(-1, 1, 1)) & \
            (xs < valid_sizes[:, 1].view(-1, 1, 1))
    weights = torch.cat(
        [torch.stack(rev_w, 1),
         self_m.unsqueeze(1).to(aff.dtype), aff], 1)
    masks = torch.cat([torch.stack(rev_m, 1), self_m.unsqueeze(1), mask], 1)
    return weights * masks.to(weights.dtype), masks


def check_num_threads(num_threads: Optional[int]) -> Optional[int]:
    """Check the ``num_threads`` of a walk.

    Args:
        num_threads (int, optional): Torch intra-op threads (>= 1) or None
            (torch's setting).

    Returns:
        int | None: ``num_threads`` as a Python int, or None.
    """
    if num_threads is None:
        return None
    is_int = isinstance(num_threads, (int, np.integer)) and \
        not isinstance(num_threads, bool)
    if not is_int or num_threads < 1:
        raise ValueError(f'num_threads must be an integer >= 1 (torch '
                         f'intra-op threads of the walk) or None (torch\'s '
                         f'setting), got {num_threads!r}')
    return int(num_threads)


@contextlib.contextmanager
def walk_threads(num_threads: Optional[int],
                 device: Union[str, torch.device]) -> Iterator[None]:
    """Run the block with ``num_threads`` torch intra-op threads when
    ``device`` is the CPU, and restore torch's setting afterwards.

    ``torch.set_num_threads`` is process-wide: other threads of the
    process running torch CPU ops meanwhile see the same setting.

    Args:
        num_threads (int, optional): Threads (>= 1); None: leave torch's
            setting alone.
        device (str | torch.device): Where the block computes; nothing
            changes for devices other than the CPU.
    """
    num_threads = check_num_threads(num_threads)
    current = torch.get_num_threads()
    if num_threads is None or torch.device(device).type != 'cpu' \
            or num_threads == current:
        yield
        return
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(current)


def _check_maps_edge(maps: Tensor, edge: Tensor) -> Tuple[Tensor, Tensor]:
    if not isinstance(maps, Tensor) or not isinstance(edge, Tensor):
        raise TypeError('maps and edge must be torch tensors')
    if maps.dim() != 4:
        raise ValueError(f'maps must be (N, K, h, w), got {tuple(maps.shape)}')
    if edge.dim() == 3:
        edge = edge.unsqueeze(1)
    if edge.dim() != 4 or edge.shape[1] != 1:
        raise ValueError('edge must be (N, 1, h, w) or (N, h, w), got '
                         f'{tuple(edge.shape)}')
    if edge.shape[0] != maps.shape[0] or edge.shape[2:] != maps.shape[2:]:
        raise ValueError(f'edge {tuple(edge.shape)} does not match maps '
                         f'{tuple(maps.shape)}')
    if not maps.is_floating_point():
        maps = maps.float()
    return maps, edge.to(device=maps.device, dtype=maps.dtype)


def sparse_transition(edge: Tensor,
                      beta: float = IRN_BETA,
                      radius: int = IRN_RADIUS,
                      valid_sizes: Optional[ValidSizes] = None) -> Tensor:
    """The walk's transposed transition matrix ``M = T^T`` as sparse CSR.

    ``M[(i, q), (i, p)] = A_qp / sum_k A_kq`` for image ``i`` (block
    diagonal over the batch): each row sums to 1 and holds at most
    ``2K + 1`` entries (69 at radius 5). Rows of padded pixels (outside
    ``valid_sizes``) are empty.

    Args:
        edge (Tensor): (N, 1, h, w) boundary map in [0, 1] (float dtype
            of the result).
        beta (float): Affinity exponent.
        radius (int): Pair radius.
        valid_sizes (Tensor | sequence, optional): (N, 2) valid ``(h, w)``
            of each image; None: the whole grid.

    Returns:
        Tensor: sparse CSR (N * h * w, N * h * w), int32 indices (int64
        beyond 2 ** 31 entries), pixel index ``(i * h + y) * w + x``.
    """
    edge = edge if edge.dim() == 4 else edge.unsqueeze(1)
    n, _, h, w = edge.shape
    if valid_sizes is not None:
        valid_sizes = as_valid_sizes(valid_sizes, (h, w), edge.device, n)
    weights, masks = _full_affinity(edge, beta, radius, valid_sizes)
    # column sums of A = row sums (A is symmetric); >= 1 on valid pixels
    norm = weights.sum(1, keepdim=True).clamp_min(1.0)
    weights = weights / norm
    offsets = torch.tensor(neighbour_offsets(radius), device=edge.device)
    step = offsets[:, 0] * w + offsets[:, 1]  # (2K + 1,) flat shift
    rows = torch.arange(n * h * w, device=edge.device).view(n, 1, h, w)
    cols = rows + step.view(1, -1, 1, 1)
    # row-major entries; within a row the offsets are lexicographic, so
    # the existing partners' column indices ascend (CSR order)
    masks = masks.permute(0, 2, 3, 1).reshape(-1)
    cols = cols.permute(0, 2, 3, 1).reshape(-1)[masks]
    vals = weights.permute(0, 2, 3, 1).reshape(-1)[masks]
    counts = masks.view(n * h * w, -1).sum(1)
    crow = F.pad(counts.cumsum(0), (1, 0))
    if cols.numel() < 2**31:
        # int32 indices: half the index traffic of a step (~1.5x faster
        # on CPU)
        crow, cols = crow.int(), cols.int()
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support')
        return torch.sparse_csr_tensor(
            crow, cols, vals, (n * h * w, n * h * w), check_invariants=False)


def random_walk(maps: Tensor,
                edge: Tensor,
                beta: float = IRN_BETA,
                exp_times: int = IRN_EXP_TIMES,
                radius: int = IRN_RADIUS,
                valid_sizes: Optional[ValidSizes] = None,
                dtype: Optional[torch.dtype] = torch.float64,
                num_threads: Optional[int] = WALK_THREADS) -> Tensor:
    """IRN's random walk, ``(maps * (1 - edge)) @ T ** (2 ** exp_times)``.

    Exactly the reference's product (dense ``T`` squared ``exp_times``
    times), computed as ``2 ** exp_times`` sparse steps ``y <- y T`` (see
    the module docstring). A padded batch (images in the top-left corner
    of the grid, ``valid_sizes`` given) gives each image the result it
    gets alone; outside its valid block the output is 0.

    Args:
        maps (Tensor): (N, K, h, w) non-negative class maps on the stride-4
            grid (already raised to IRN's power 1.5, see
            :func:`refine_maps`). Float dtype kept (float32 as a rule;
            float64 for exactness tests); integer maps become float32.
        edge (Tensor): (N, 1, h, w) or (N, h, w) boundary map in [0, 1].
        beta (float): Affinity exponent (IRN: 10).
        exp_times (int): ``log2`` of the number of steps (IRN: 8, i.e.
            256 steps).
        radius (int): Pair radius (IRN: 5).
        valid_sizes (Tensor | sequence, optional): (N, 2) valid ``(h, w)``
            per image of a padded batch.
        dtype (torch.dtype, optional): Dtype of the transition matrix and
            the iteration; None: that of ``maps``. Defaults to float64: the
            256 steps accumulate the rounding of ``T``, which in float32
            moves the result by up to ~1e-4 relative (the dense squarings
            by ~1e-5), while float64 costs about the same time on CPU (the
            step is bound by the index traffic) and 2x the small memory.
        num_threads (int, optional): Torch intra-op threads of the walk on
            the CPU (build and steps; torch's setting is restored
            afterwards, see :func:`walk_threads`); None: torch's setting.
            Ignored on other devices. Defaults to 1 (see the note).

    Returns:
        Tensor: (N, K, h, w) walked maps, dtype and device of ``maps``.

    Note:
        Each step is one ``torch.sparse.mm`` of ~1 ms at VOC size on one
        CPU core (n = 11,750, 3 classes). With several intra-op threads
        every step opens parallel regions (the zeroed output, the product)
        that wait for all their threads: on a CPU shared with other busy
        processes each such wait costs milliseconds, and the walk was ~8x
        slower with 2 threads than with 1 (``docs/benchmarks.md``). Hence
        one thread by default; for throughput, walk several images per
        batch or process.
    """
    maps, edge = _check_maps_edge(maps, edge)
    if int(exp_times) != exp_times or exp_times < 0:
        raise ValueError(f'exp_times must be an integer >= 0, got '
                         f'{exp_times!r}')
    with torch.no_grad(), walk_threads(num_threads, maps.device):
        return _walk(maps, edge, beta, int(exp_times), radius, valid_sizes,
                     dtype)


def _walk(maps: Tensor, edge: Tensor, beta: float, exp_times: int, radius: int,
          valid_sizes: Optional[ValidSizes],
          dtype: Optional[torch.dtype]) -> Tensor:
    """:func:`random_walk` on checked inputs, with the caller's thread and grad
    settings."""
    out_dtype = maps.dtype
    if dtype is not None:
        maps, edge = maps.to(dtype), edge.to(dtype)
    n, k, h, w = maps.shape
    y = maps * (1 - edge)
    if k == 0 or h * w == 0:
        return y.to(out_dtype)
    trans = sparse_transition(edge, beta, radius, valid_sizes)
    # (N, K, h, w) -> (N * h * w, K): one column per class
    col = y.permute(0, 2, 3, 1).reshape(n * h * w, k).contiguous()
    for _ in range(2**exp_times):
        col = torch.sparse.mm(trans, col)
    col = col.view(n, h, w, k).permute(0, 3, 1, 2)
    return col.to(out_dtype).contiguous()


def irn_grid_size(image_size: Sequence[int],
                  stride: int = IRN_STRIDE) -> Tuple[int, int]:
    """Size of IRN's stride grid for an image ``(H, W)``:

    ``(ceil(H / stride), ceil(W / stride))``.
    """
    return (math.ceil(int(image_size[0]) / stride),
            math.ceil(int(image_size[1]) / stride))


def _to_grid(maps: Tensor, image_size: Tuple[int, int],
             grid: Tuple[int, int]) -> Tensor:
    """(K, h, w) maps on the grid; full-resolution (K, H, W) maps are
    replicate-padded to (4h, 4w) and average-pooled over 4x4 blocks (the cells
    the x4 upsampling maps back onto)."""
    if tuple(maps.shape[1:]) == grid:
        return maps
    if tuple(maps.shape[1:]) != tuple(image_size):
        raise ValueError(f'maps {tuple(maps.shape)} are neither on the '
                         f'stride-{IRN_STRIDE} grid {grid} nor at the image '
                         f'size {tuple(image_size)}')
    pad_h = grid[0] * IRN_STRIDE - image_size[0]
    pad_w = grid[1] * IRN_STRIDE - image_size[1]
    padded = F.pad(maps[None], (0, pad_w, 0, pad_h), mode='replicate')
    return F.avg_pool2d(padded, IRN_STRIDE)[0]


def upsample_walked(walked: Tensor, image_size: Sequence[int]) -> Tensor:
    """IRN's last step: walked grid maps to image-size maps in [0, 1].

    Bilinear x4 upsampling (``align_corners=False``), crop to the image
    size, division by the global maximum over classes and pixels (an
    all-zero result stays 0).

    Args:
        walked (Tensor): (K, h, w) output of the walk for one image.
        image_size (Sequence[int]): ``(H, W)``, at most ``(4h, 4w)``.

    Returns:
        Tensor: (K, H, W), dtype and device of ``walked``.
    """
    up = F.interpolate(
        walked[None],
        scale_factor=IRN_STRIDE,
        mode='bilinear',
        align_corners=False)
    up = up[0, :, :int(image_size[0]), :int(image_size[1])]
    if up.numel():
        up = up / up.max().clamp_min(torch.finfo(up.dtype).tiny)
    return up


def refine_maps_batch(
        maps: Sequence[ArrayLike],
        edges: Sequence[ArrayLike],
        image_sizes: Sequence[Sequence[int]],
        beta: float = IRN_BETA,
        exp_times: int = IRN_EXP_TIMES,
        radius: int = IRN_RADIUS,
        power: float = IRN_POWER,
        device: Optional[Union[str, torch.device]] = None,
        dtype: Optional[torch.dtype] = torch.float64,
        num_threads: Optional[int] = WALK_THREADS) -> List[Tensor]:
    """IRN refinement of several images in one padded walk.

    Per image (IRN's inference): ``maps ** power`` on the stride-4 grid,
    :func:`random_walk` with its boundary map, bilinear x4 upsampling
    (``align_corners=False``), crop to the image size, division by the
    global maximum over all classes and pixels (an all-zero result stays
    0). Each image's result equals :func:`refine_maps` on it alone.

    Args:
        maps (Sequence[Tensor | ndarray]): per image (K_i, h_i, w_i) class
            maps on the grid of :func:`irn_grid_size`, or (K_i, H_i, W_i) at
            image size (brought onto the grid, see ``_to_grid``); >= 0.
        edges (Sequence[Tensor | ndarray]): per image (h_i, w_i) or
            (1, h_i, w_i) boundary map in [0, 1] on the grid.
        image_sizes (Sequence[Sequence[int]]): per image ``(H_i, W_i)``.
        beta, exp_times, radius: See :func:`random_walk`.
        power (float): Exponent of the maps before the walk (BAS: 1.5).
        device (str | torch.device, optional): Where to walk; default the
            first map's device.
        dtype (torch.dtype, optional): Dtype of the walk (see
            :func:`random_walk`).
        num_threads (int, optional): Torch intra-op threads of the whole
            refinement on the CPU (see :func:`random_walk`); None: torch's
            setting. Defaults to 1.

    Returns:
        list[Tensor]: per image (K_i, H_i, W_i) float32 refined maps in
        [0, 1] on ``device``.
    """
    if not (len(maps) == len(edges) == len(image_sizes)):
        raise ValueError(f'got {len(maps)} maps, {len(edges)} edges and '
                         f'{len(image_sizes)} image sizes')
    if not len(maps):
        return []
    maps = [torch.as_tensor(m) for m in maps]
    edges = [torch.as_tensor(e) for e in edges]
    device = maps[0].device if device is None else torch.device(device)
    with walk_threads(num_threads, device):
        grids, grid_maps, grid_edges = [], [], []
        for i, (m, e, size) in enumerate(zip(maps, edges, image_sizes)):
            size = (int(size[0]), int(size[1]))
            grid = irn_grid_size(size)
            if e.dim() == 3 and e.shape[0] == 1:
                e = e[0]
            if tuple(e.shape) != grid:
                raise ValueError(f'image {i}: edge {tuple(e.shape)} is not '
                                 f'on the stride-{IRN_STRIDE} grid {grid} of '
                                 f'image size {size}')
            if m.dim() != 3:
                raise ValueError(f'image {i}: maps must be (K, h, w), got '
                                 f'{tuple(m.shape)}')
            m = m.to(device=device, dtype=torch.float32)
            grid_maps.append(_to_grid(m, size, grid).clamp_min(0).pow(power))
            grid_edges.append(e.to(device=device, dtype=torch.float32))
            grids.append(grid)
        h = max(g[0] for g in grids)
        w = max(g[1] for g in grids)
        k = max(m.shape[0] for m in grid_maps)
        batch = grid_maps[0].new_zeros((len(maps), k, h, w))
        edge = grid_maps[0].new_ones((len(maps), 1, h, w))
        for i, (m, e, (gh,
                       gw)) in enumerate(zip(grid_maps, grid_edges, grids)):
            batch[i, :m.shape[0], :gh, :gw] = m
            edge[i, 0, :gh, :gw] = e
        walked = random_walk(
            batch,
            edge,
            beta,
            exp_times,
            radius,
            valid_sizes=grids,
            dtype=dtype,
            num_threads=None)
        return [
            upsample_walked(walked[i, :grid_maps[i].shape[0], :gh, :gw], size)
            for i, (size, (gh, gw)) in enumerate(zip(image_sizes, grids))
        ]


def refine_maps(maps: ArrayLike,
                edge: ArrayLike,
                image_size: Sequence[int],
                beta: float = IRN_BETA,
                exp_times: int = IRN_EXP_TIMES,
                radius: int = IRN_RADIUS,
                power: float = IRN_POWER,
                device: Optional[Union[str, torch.device]] = None,
                dtype: Optional[torch.dtype] = torch.float64,
                num_threads: Optional[int] = WALK_THREADS) -> Tensor:
    """IRN refinement of one image; see :func:`refine_maps_batch`.

    Args:
        maps (Tensor | ndarray): (K, h, w) grid or (K, H, W) image-size
            class maps of the image's classes, >= 0.
        edge (Tensor | ndarray): (h, w) or (1, h, w) boundary map on the
            stride-4 grid ``irn_grid_size(image_size)``.
        image_size (Sequence[int]): ``(H, W)``.
        beta, exp_times, radius, power, device, dtype, num_threads: See
            :func:`refine_maps_batch`.

    Returns:
        Tensor: (K, H, W) float32 refined maps in [0, 1].
    """
    return refine_maps_batch([maps], [edge], [image_size], beta, exp_times,
                             radius, power, device, dtype, num_threads)[0]


def refined_to_label(maps: ArrayLike,
                     labels: Sequence[int],
                     bg_threshold: float = IRN_BG_THRESHOLD) -> np.ndarray:
    """Label map from refined maps: argmax over ``[bg_threshold, maps]``.

    Args:
        maps (Tensor | ndarray): (K, H, W) refined maps of the image's
            classes (e.g. from :func:`refine_maps` or
            :func:`load_refined_maps`).
        labels (Sequence[int]): (K,) 0-based foreground classes of the maps.
        bg_threshold (float): Background score (BAS with IRN: 0.22).

    Returns:
        np.ndarray: (H, W) uint8, 0 = background, ``labels[k] + 1``
        otherwise (ties go to the background, then to the first class).
    """
    maps = torch.as_tensor(maps).float().cpu()
    labels = [int(v) for v in labels]
    if maps.dim() != 3 or maps.shape[0] != len(labels):
        raise ValueError(f'maps {tuple(maps.shape)} must be (K, H, W) with '
                         f'K = {len(labels)} (the labels)')
    if any(not 0 <= v < 255 for v in labels):
        raise ValueError(f'labels {labels} must lie in 0..254')
    bg = maps.new_full((1, ) + tuple(maps.shape[1:]), float(bg_threshold))
    idx = torch.cat([bg, maps]).argmax(0)
    lut = torch.tensor([0] + [v + 1 for v in labels], dtype=torch.uint8)
    return lut[idx].numpy()


def save_refined_maps(path: str, maps: ArrayLike,
                      labels: Sequence[int]) -> None:
    """Store refined maps compactly and atomically.

    The file is the export's score format
    (:func:`mmbas.pseudo.writer.encode_scores`): an ``.npz`` with ``maps``
    (K, H, W) float16 and ``classes`` (K,) int64 label values
    (``labels + 1``), byte-deterministic, written to a temp file in the
    same folder then moved onto ``path``.

    Args:
        path (str): Target file (``.npz``); its folder is created.
        maps (Tensor | ndarray): (K, H, W) maps of the image's classes.
        labels (Sequence[int]): (K,) 0-based foreground classes.
    """
    from .writer import atomic_write, encode_scores
    maps = torch.as_tensor(maps).detach().float().cpu().numpy()
    labels = [int(v) for v in labels]
    if maps.ndim != 3 or maps.shape[0] != len(labels):
        raise ValueError(f'maps {maps.shape} must be (K, H, W) with K = '
                         f'{len(labels)} (the labels)')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, encode_scores([v + 1 for v in labels], maps), folder)


def load_refined_maps(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read a file of :func:`save_refined_maps`.

    Args:
        path (str): The ``.npz`` file.

    Returns:
        tuple: ``maps`` (K, H, W) float32 and ``labels`` (K,) int64 0-based
        foreground classes.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            maps = data['maps'].astype(np.float32)
            classes = data['classes'].astype(np.int64)
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f'{path}: not a refined-maps file (npz with maps '
                         f'and classes): {err}; rerun the refinement to '
                         'rewrite it') from err
    if maps.ndim != 3 or classes.shape != (maps.shape[0], ):
        raise ValueError(f'{path}: maps {maps.shape} and classes '
                         f'{classes.shape} do not match; rerun the '
                         'refinement to rewrite it')
    return maps, classes - 1
