# Copyright (c) mmbas contributors. All rights reserved.
"""Pixel pairs of IRN (Ahn et al., CVPR 2019) and their affinities.

IRN relates every pixel of a stride-4 feature grid with its neighbours
closer than ``radius``. Each unordered pair is listed once, through the
*half-plane* offsets ``(dy, dx)`` with ``dy > 0``, or ``dy == 0`` and
``dx > 0`` (:func:`pair_offsets`; 34 offsets for radius 5). The affinity
of pixel ``p`` and its partner ``p + (dy, dx)`` is ``1 - max`` of the
boundary map over the pixels of the segment joining them, both ends
included (:func:`segment_pixels`, :func:`boundary_to_affinity`). Pairs
whose partner lies outside the image (or outside an image's valid region
in a padded batch) are not pairs: their affinity is 0 and
:func:`pair_valid_mask` marks them False.

Shared by the random walk (:mod:`mmbas.pseudo.random_walk`) and the IRN
affinity loss, so training and inference use the very same pairs.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

Offset = Tuple[int, int]
#: (N, 2) valid (h, w) per image of a padded batch
ValidSizes = Union[Tensor, Sequence[Sequence[int]]]


def _check_radius(radius: int) -> int:
    if int(radius) != radius or radius < 2:
        raise ValueError(f'radius must be an integer >= 2, got {radius!r}')
    return int(radius)


def pair_offsets(radius: int = 5) -> List[Offset]:
    """Half-plane neighbour offsets of IRN.

    All integer ``(dy, dx)`` with ``dy ** 2 + dx ** 2 < radius ** 2`` and
    ``dy > 0`` or (``dy == 0`` and ``dx > 0``), so each unordered pair of
    pixels appears once. The order is fixed: ``dy`` ascending, then ``dx``
    ascending (``(0, 1), ..., (0, r - 1), (1, -(r - 1)), ...``).

    Args:
        radius (int): Neighbourhood radius (strict), >= 2. IRN uses 5.

    Returns:
        list[tuple[int, int]]: K offsets (34 for radius 5, 12 for radius 3).
    """
    radius = _check_radius(radius)
    offsets = []
    for dy in range(radius):
        for dx in range(-radius + 1, radius):
            if dy == 0 and dx <= 0:
                continue
            if dy * dy + dx * dx < radius * radius:
                offsets.append((dy, dx))
    return offsets


def segment_pixels(dy: int, dx: int) -> List[Offset]:
    """Integer pixels on the segment from ``(0, 0)`` to ``(dy, dx)``.

    Rasterisation (IRN's rule, computed exactly in integers): a pixel
    ``(y, x)`` of the segment's bounding box belongs to the path when its
    distance to the line through ``(0, 0)`` and ``(dy, dx)`` is below one
    pixel, ``(dy * x - dx * y) ** 2 < dy ** 2 + dx ** 2``. Both ends are
    included; the set is symmetric (``(dy, dx) - s`` is on the path for
    every ``s`` on it), so the path of ``q -> p`` is the path of
    ``p -> q``. Diagonal steps are thick: ``(1, 1)`` gives all four pixels
    of the 2x2 block.

    Args:
        dy (int): Row offset of the end pixel.
        dx (int): Column offset of the end pixel (not both 0).

    Returns:
        list[tuple[int, int]]: the path pixels ``(y, x)`` relative to the
        start, ordered by their position along the segment (then by
        ``(y, x)``); first ``(0, 0)``, last ``(dy, dx)``.
    """
    dy, dx = int(dy), int(dx)
    length_sq = dy * dy + dx * dx
    if length_sq == 0:
        raise ValueError('segment_pixels needs a non-zero offset')
    pixels = []
    for y in range(min(0, dy), max(0, dy) + 1):
        for x in range(min(0, dx), max(0, dx) + 1):
            if (dy * x - dx * y)**2 < length_sq:
                pixels.append((y, x))
    pixels.sort(key=lambda s: (s[0] * dy + s[1] * dx, s))
    return pixels


def _as_nchw(edge: Tensor) -> Tensor:
    if not isinstance(edge, Tensor):
        raise TypeError(f'edge must be a torch.Tensor, got {type(edge)}')
    if edge.dim() == 3:
        edge = edge.unsqueeze(1)
    if edge.dim() != 4 or edge.shape[1] != 1:
        raise ValueError('edge must be (N, 1, H, W) or (N, H, W), got '
                         f'{tuple(edge.shape)}')
    return edge


def as_valid_sizes(valid_sizes,
                   size: Tuple[int, int],
                   device,
                   n: Optional[int] = None) -> Tensor:
    """Check ``valid_sizes`` against a grid of size ``(H, W)`` (and ``n``
    images when given).

    Returns:
        Tensor: (N, 2) int64 valid ``(h, w)`` per image on ``device``.
    """
    sizes = torch.as_tensor(valid_sizes, dtype=torch.long)
    if sizes.dim() != 2 or sizes.shape[1] != 2:
        raise ValueError('valid_sizes must be (N, 2) (h, w) per image, got '
                         f'shape {tuple(sizes.shape)}')
    if n is not None and sizes.shape[0] != n:
        raise ValueError(f'valid_sizes has {sizes.shape[0]} entries for '
                         f'{n} images')
    h, w = size
    if (sizes < 1).any() or (sizes[:, 0] > h).any() or \
            (sizes[:, 1] > w).any():
        raise ValueError(f'valid_sizes {sizes.tolist()} must lie in '
                         f'[1, {h}] x [1, {w}] (the grid size)')
    return sizes.to(device)


def pair_valid_mask(size: Tuple[int, int],
                    radius: int = 5,
                    valid_sizes: Optional[ValidSizes] = None,
                    device: Union[str, torch.device] = 'cpu') -> Tensor:
    """Which pairs ``(p, p + offset_k)`` exist on a (padded) grid.

    Args:
        size (tuple[int, int]): Grid size ``(H, W)``.
        radius (int): Neighbourhood radius (see :func:`pair_offsets`).
        valid_sizes (Tensor | sequence, optional): (N, 2) valid ``(h, w)``
            of each image of a padded batch (its top-left ``h x w`` block is
            the image). None: the whole grid is one image.
        device (str | torch.device): Device of the mask.

    Returns:
        Tensor: bool (1, K, H, W) without ``valid_sizes``, else (N, K, H, W):
        True where both ``p`` and ``p + offset_k`` lie inside the (valid)
        image.
    """
    h, w = int(size[0]), int(size[1])
    offsets = pair_offsets(radius)
    ys = torch.arange(h, device=device).view(1, 1, h, 1)
    xs = torch.arange(w, device=device).view(1, 1, 1, w)
    if valid_sizes is None:
        lim = torch.tensor([[h, w]], device=device)
    else:
        lim = as_valid_sizes(valid_sizes, (h, w), device)
    lim_h = lim[:, 0].view(-1, 1, 1, 1)
    lim_w = lim[:, 1].view(-1, 1, 1, 1)
    off = torch.tensor(offsets, device=device).view(1, -1, 2, 1, 1)
    oy, ox = off[:, :, 0], off[:, :, 1]
    inside_p = (ys < lim_h) & (xs < lim_w)
    qy, qx = ys + oy, xs + ox
    inside_q = (qy < lim_h) & (qx >= 0) & (qx < lim_w)
    return inside_p & inside_q


def boundary_to_affinity(edge: Tensor,
                         radius: int = 5,
                         valid_sizes: Optional[ValidSizes] = None) -> Tensor:
    """IRN affinities of the half-plane pairs from a boundary map.

    ``aff[n, k, y, x] = 1 - max(edge[n, 0, y + sy, x + sx])`` over the
    pixels ``(sy, sx)`` of ``segment_pixels(*offsets[k])``, and 0 for pairs
    that do not exist (partner outside the image / valid region, see
    :func:`pair_valid_mask`). Vectorised over pixels (one shifted view per
    path pixel, max over the path); differentiable w.r.t. ``edge`` (the
    gradient of the max goes to the path's maximum).

    Args:
        edge (Tensor): (N, 1, H, W) or (N, H, W) boundary probabilities in
            [0, 1], any float dtype / device.
        radius (int): Neighbourhood radius (IRN: 5).
        valid_sizes (Tensor | sequence, optional): (N, 2) valid ``(h, w)``
            per image of a padded batch; None: the whole grid.

    Returns:
        Tensor: (N, K, H, W) affinities in [0, 1], K = ``len(pair_offsets(
        radius))``, same dtype / device as ``edge``; channel k pairs pixel
        ``(y, x)`` with ``(y + dy_k, x + dx_k)``.
    """
    edge = _as_nchw(edge)
    n, _, h, w = edge.shape
    r = _check_radius(radius) - 1
    # pad bottom / left / right by the largest offset; the padded value
    # only reaches pairs that are masked out below
    padded = F.pad(edge, (r, r, 0, r), mode='constant', value=1.0)
    out = []
    for dy, dx in pair_offsets(radius):
        path = [
            padded[:, 0, sy:sy + h, r + sx:r + sx + w]
            for sy, sx in segment_pixels(dy, dx)
        ]
        out.append(torch.stack(path, dim=1).amax(dim=1))
    aff = 1.0 - torch.stack(out, dim=1)
    if valid_sizes is not None:
        valid_sizes = as_valid_sizes(valid_sizes, (h, w), edge.device, n)
    mask = pair_valid_mask((h, w), radius, valid_sizes, edge.device)
    return aff * mask.to(aff.dtype)
