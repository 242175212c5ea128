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
                      height: int,
                      width: int,
                      name: Optional[str] = None) -> np.ndarray:
    """Check ground-truth boxes and return them as a float64 ``(N, 4)`` array.

    Accepted: finite coordinates with ``0 <= x0 <= x1 <= width`` and
    ``0 <= y0 <= y1 <= height``.  ``x1 == width`` is tolerated because many
    annotation pipelines (and wsolevaluation's own box resizing) produce an
    exclusive right edge that lands exactly on the border.  Zero-area boxes
    (``x0 == x1``) are accepted; under the +1 convention they are one pixel
    wide.

    Raises:
        ValueError: naming the image and the fix, for any other box.
    """
    where = describe_image(name)
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(
            f'No ground-truth box for {where}: give at least one box as an '
            '(N, 4) array in x0, y0, x1, y1 order.')
    arr = arr.reshape(-1, 4) if arr.ndim == 1 and arr.size == 4 else arr
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(
            f'gt_bboxes of {where} has shape {np.shape(boxes)}; expected '
            '(N, 4) in x0, y0, x1, y1 order.')
    if not np.isfinite(arr).all():
        raise ValueError(f'gt_bboxes of {where} contains NaN/inf: {arr}. '
                         'Drop or fix the broken annotation.')
    x0, y0, x1, y1 = arr.T
    if (x1 < x0).any() or (y1 < y0).any():
        raise ValueError(
            f'gt_bboxes of {where} has a negative width/height: {arr}. '
            'Boxes must be x0, y0, x1, y1 with x1 >= x0 and y1 >= y0 '
            '(convert xywh boxes first).')
    if (x0 < 0).any() or (y0 < 0).any() or (x1 > width).any() or \
            (y1 > height).any():
        raise ValueError(
            f'gt_bboxes of {where} lie outside the {width}x{height} (WxH) '
            f'localization map: {arr}. Transform the boxes into the frame of '
            'the map (resize/crop them like the image) or clip them.')
    return arr


def pairwise_iou_inclusive(boxes_a, boxes_b) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` with the inclusive +1 convention.

    A pair whose union is not positive (only possible for malformed boxes)
    gets IoU 0, as in wsolevaluation.
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


def check_same_shape(shape_a: Sequence[int], shape_b: Sequence[int],
                     what: str, name: Optional[str] = None) -> None:
    """Raise ValueError when ``what`` does not have the map's HxW shape."""
    if tuple(shape_a) != tuple(shape_b):
        raise ValueError(
            f'{what} of {describe_image(name)} has shape {tuple(shape_b)} '
            f'but the localization map is {tuple(shape_a)}; resize the map '
            f'(bilinear) or the {what} (nearest) to the same HxW.')
