"""Box helpers shared by the WSOL localization protocols.

Convention used everywhere in this package
-----------------------------------------
Boxes are ``(x0, y0, x1, y1)`` arrays in the pixel frame of the localization
map.  IoU uses the *inclusive* ("+1") pixel convention of both the BAS code
and ``clovaai/wsolevaluation``: a box covers the pixel columns ``x0..x1`` and
rows ``y0..y1``, so its area is ``(x1 - x0 + 1) * (y1 - y0 + 1)`` and the
intersection width is ``min(x1) - max(x0) + 1`` (clamped at 0).  A box with
``x0 == x1`` therefore still covers one pixel column (a "degenerate" zero-area
box in the exclusive convention is a one-pixel-wide box here).
"""
from typing import Optional, Sequence

import numpy as np


def describe_image(name: Optional[str]) -> str:
    """Return a human readable fragment naming an image for error messages."""
    return f'image {name!r}' if name is not None else 'an image (no img_path)'


def validate_gt_boxes(boxes,
                      height: Optional[float] = None,
                      width: Optional[float] = None,
                      name: Optional[str] = None,
                      *,
                      where: Optional[str] = None,
                      frame: str = 'localization map',
                      tolerance: float = 0.,
                      clip: bool = False,
                      allow_empty: bool = False,
                      hint: Optional[str] = None,
                      dtype=np.float64) -> np.ndarray:
    """Check ``(N, 4)`` ``x0, y0, x1, y1`` boxes of one image; the one box
    validator of mmbas (datasets, loading transforms and WSOL metrics).

    Accepted: finite coordinates with ``x0 <= x1`` and ``y0 <= y1`` and,
    when the frame size is known, ``-tolerance <= x0``, ``x1 <= width +
    tolerance`` (same for y). ``x1 == width`` is tolerated because many
    annotation pipelines (and wsolevaluation's own box resizing) produce an
    exclusive right edge that lands exactly on the border. Zero-area boxes
    (``x0 == x1``) are accepted; under the +1 convention they are one pixel
    wide.

    Args:
        boxes (array-like): ``(N, 4)`` boxes, or one box of 4 numbers.
        height (float, optional): Height of the frame the boxes live in;
            None (with ``width``) skips the bounds check.
        width (float, optional): Width of that frame.
        name (str, optional): Image name for the messages (``image
            'name'``).
        where (str, optional): The whole subject of the messages instead
            (e.g. ``'CUBDataset: image 12 in bounding_boxes.txt'``).
        frame (str): What ``height`` x ``width`` is, for the messages.
            Defaults to ``'localization map'``.
        tolerance (float): Pixels a box may overshoot the frame. Defaults
            to 0.
        clip (bool): Clip the boxes to ``[0, width] x [0, height]``.
            Defaults to False.
        allow_empty (bool): Accept zero boxes (returns ``(0, 4)``).
            Defaults to False.
        hint (str, optional): The fix of an out-of-frame box; defaults to
            the one for boxes scored on a localization map.
        dtype: Dtype of the returned array. Defaults to float64.

    Returns:
        np.ndarray: The boxes, ``(N, 4)`` of ``dtype`` (clipped if asked).

    Raises:
        ValueError: naming the image and the fix, for any other box.
    """
    where = where or describe_image(name)
    arr = np.array(boxes, dtype=np.float64)
    if arr.size == 0:
        if allow_empty:
            return arr.reshape(0, 4).astype(dtype)
        raise ValueError(
            f'No ground-truth box for {where}: give at least one box as an '
            '(N, 4) array in x0, y0, x1, y1 order.')
    arr = arr.reshape(-1, 4) if arr.ndim == 1 and arr.size == 4 else arr
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f'gt_bboxes of {where} has shape {np.shape(boxes)}; expected '
            '(N, 4) in x0, y0, x1, y1 order.')
    if not np.isfinite(arr).all():
        raise ValueError(f'gt_bboxes of {where} contains NaN/inf: '
                         f'{arr.tolist()}. Drop or fix the broken '
                         'annotation.')
    x0, y0, x1, y1 = arr.T
    bad = (x1 < x0) | (y1 < y0)
    if bad.any():
        raise ValueError(
            f'{where} has a box with negative width or height: '
            f'{arr[bad][0].tolist()}. Boxes must be x0, y0, x1, y1 with '
            'x1 >= x0 and y1 >= y0 (convert xywh boxes first).')
    if height is None or width is None:
        return arr.astype(dtype)
    h, w, tol = float(height), float(width), float(tolerance)
    out = (x0 < -tol) | (y0 < -tol) | (x1 > w + tol) | (y1 > h + tol)
    if out.any():
        if hint is None:
            hint = ('Transform the boxes into the frame of the map '
                    '(resize/crop them like the image) or clip them.')
        margin = f', {tol:g} px allowed' if tol else ''
        raise ValueError(
            f'{where} has a box {arr[out][0].tolist()} outside the '
            f'{frame} ({w:g}x{h:g} WxH{margin}). {hint}')
    if clip:
        arr[:, 0::2] = arr[:, 0::2].clip(0, w)
        arr[:, 1::2] = arr[:, 1::2].clip(0, h)
    return arr.astype(dtype)


def pairwise_iou_inclusive(boxes_a, boxes_b) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` with the inclusive +1 convention.

    A pair whose union is not positive (only possible for malformed boxes) gets
    IoU 0, as in wsolevaluation.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(0., ix1 - ix0 + 1) * np.maximum(0., iy1 - iy0 + 1)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    union = area_a[:, None] + area_b[None, :] - inter
    bad = union <= 0
    iou = inter / np.where(bad, 1., union)
    iou[bad] = 0.
    return iou


def best_iou_per_box(pred_boxes, gt_boxes) -> np.ndarray:
    """For each predicted box, the best IoU over all GT boxes."""
    return pairwise_iou_inclusive(pred_boxes, gt_boxes).max(axis=1)


def as_2d_map(loc_map, name: Optional[str] = None) -> np.ndarray:
    """Return ``loc_map`` as a 2-D float64 array (leading 1-dims squeezed).

    Raises:
        ValueError: if the map is not 2-D after squeezing or holds +/-inf.
    """
    arr = np.asarray(loc_map, dtype=np.float64)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f'Localization map of {describe_image(name)} has shape '
            f'{np.shape(loc_map)}; expected one non-empty HxW map (select '
            'the class map and resize it to the image/crop size first).')
    if np.isinf(arr).any():
        raise ValueError(
            f'Localization map of {describe_image(name)} contains inf; '
            'clamp the logits/activations before building the map.')
    return arr


def check_same_shape(shape_a: Sequence[int],
                     shape_b: Sequence[int],
                     what: str,
                     name: Optional[str] = None) -> None:
    """Raise ValueError when ``what`` does not have the map's HxW shape."""
    if tuple(shape_a) != tuple(shape_b):
        raise ValueError(
            f'{what} of {describe_image(name)} has shape {tuple(shape_b)} '
            f'but the localization map is {tuple(shape_a)}; resize the map '
            f'(bilinear) or the {what} (nearest) to the same HxW.')
