"""The localization protocol used for BAS's published tables ("paper").

Per image and per map threshold ``t``:

1. the map (already at crop size) is cast to float64 and min-max normalised
   as ``(x - min) / (max - min + 1e-5)``; a map containing NaN is replaced
   by zeros first (same documented behaviour as the official protocol);
2. foreground = ``map >= t`` (inclusive; with ``t = 0`` every pixel is
   foreground);
3. the largest 8-connected component (``cv2.connectedComponentsWithStats``,
   by pixel count; ties -> the lowest OpenCV label, i.e. the first component
   in raster order) is kept and its bounding box is the prediction, in
   inclusive pixel coordinates ``(x, y, x + w - 1, y + h - 1)`` like the BAS
   code;
4. IoU with the +1 convention (see :mod:`.box_utils`), best over GT boxes.
   An empty foreground (possible for ``t`` close to 1 or for constant maps)
   gives no box and IoU 0.

Image-level results are then summarised by :func:`paper_loc_summary`:
GT-known Loc (IoU >= 0.5), Top-1 Loc (also top-1 class right), Top-5 Loc
(GT class within the top 5) and IoU30/50/70 (GT-known at IoU >= 0.3/0.5/0.7),
all in percent, at the best threshold by GT-known Loc or a fixed one.
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .box_utils import as_2d_map, best_iou_per_box, validate_gt_boxes

PAPER_EPS = 1e-5
PAPER_IOU_DELTAS = (30, 50, 70)


def normalize_minmax_eps(loc_map,
                         eps: float = PAPER_EPS,
                         name: Optional[str] = None) -> np.ndarray:
    """``(x - min) / (max - min + eps)`` in float64; NaN map -> zeros."""
    arr = as_2d_map(loc_map, name)
    if np.isnan(arr).any():
        return np.zeros_like(arr)
    lo = arr.min()
    return (arr - lo) / (arr.max() - lo + eps)


def largest_component_boxes(
        norm_map: np.ndarray,
        thresholds: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Bounding box of the largest component of ``map >= t`` for every t.

    Returns:
        ``(boxes, valid)``: ``(T, 4)`` float64 inclusive boxes and a ``(T,)``
        bool array that is False where the foreground is empty.
    """
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    boxes = np.zeros((len(thr), 4), dtype=np.float64)
    valid = np.zeros(len(thr), dtype=bool)
    top = norm_map.max()
    for i, t in enumerate(thr.tolist()):
        if t > top:
            continue
        fg = (norm_map >= t).view(np.uint8)
        num, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        if num <= 1:
            continue
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, w, h = stats[k, :4].tolist()
        boxes[i] = (x, y, x + w - 1, y + h - 1)
        valid[i] = True
    return boxes, valid


def paper_protocol_box(loc_map: np.ndarray,
                       threshold: float) -> Optional[np.ndarray]:
    """Box of the largest 8-connected component of the normalised map at
    ``threshold`` (the box of the paper protocol, as :func:`paper_box_ious`
    computes it for :class:`WSOLPaperMetric`; used to draw and return the
    predicted box).

    Args:
        loc_map (np.ndarray): (H, W) localisation map, any range.
        threshold (float): map threshold in [0, 1).

    Returns:
        np.ndarray | None: inclusive ``(x0, y0, x1, y1)`` float64 box, or
        None when the foreground is empty.
    """
    norm = normalize_minmax_eps(loc_map)
    boxes, valid = largest_component_boxes(norm, [threshold])
    return boxes[0] if valid[0] else None


def paper_box_ious(loc_map,
                   gt_boxes,
                   thresholds: Sequence[float],
                   normalize: bool = True,
                   name: Optional[str] = None) -> np.ndarray:
    """Per-threshold best IoU (float64, len(thresholds)) of one map."""
    norm = normalize_minmax_eps(loc_map, name=name) if normalize else \
        np.nan_to_num(as_2d_map(loc_map, name), nan=0.)
    gts = validate_gt_boxes(gt_boxes, norm.shape[0], norm.shape[1], name)
    boxes, valid = largest_component_boxes(norm, thresholds)
    ious = best_iou_per_box(boxes, gts)
    ious[~valid] = 0.
    return ious


def topk_correct(scores, label: int,
                 ks: Sequence[int] = (1, 5)) -> Tuple[bool, ...]:
    """Whether ``label`` is within the top-k classes of ``scores``.

    The rank of the label is the number of classes with a strictly higher
    score, so exact ties count in the label's favour.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not 0 <= label < s.size:
        raise ValueError(f'gt_label {label} out of range for {s.size} '
                         'class scores')
    rank = int((s > s[label]).sum())
    return tuple(rank < k for k in ks)


def paper_loc_summary(
        ious,
        thresholds: Sequence[float],
        top1=None,
        top5=None,
        fixed_threshold: Optional[float] = None,
        deltas: Sequence[float] = PAPER_IOU_DELTAS) -> Dict[str, object]:
    """Summarise per-image IoUs into the paper's localization metrics.

    Args:
        ious: ``(N, T)`` best IoU per image and threshold.
        thresholds: the ``T`` thresholds.
        top1, top5: optional ``(N,)`` bool arrays (classification correct).
        fixed_threshold: report at this threshold (must be in
            ``thresholds``); ``None`` -> the threshold with the best
            GT-known Loc (smallest one on ties).
        deltas: IoU thresholds (percent) for the ``iou<delta>`` keys.

    Returns:
        dict with the scalar metrics (percent) at the chosen threshold,
        ``best_threshold`` and the per-threshold curves
        (``curve_gt_known_loc`` ... as arrays).
    """
    ious = np.asarray(ious, dtype=np.float64)
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if ious.ndim != 2 or ious.shape[0] == 0 or ious.shape[1] != len(thr):
        raise ValueError('ious must be a non-empty (num_images, '
                         'num_thresholds) array')
    hit = ious >= 0.5
    curves = {'gt_known_loc': hit.mean(0) * 100}
    if top1 is not None:
        curves['top1_loc'] = (hit & np.asarray(top1, bool)[:, None]).mean(0) \
            * 100
    if top5 is not None:
        curves['top5_loc'] = (hit & np.asarray(top5, bool)[:, None]).mean(0) \
            * 100
    for d in deltas:
        curves[f'iou{d:g}'] = (ious >= d / 100).mean(0) * 100
    if fixed_threshold is None:
        best = int(np.argmax(curves['gt_known_loc']))
    else:
        match = np.flatnonzero(
            np.isclose(thr, fixed_threshold, rtol=0, atol=1e-9))
        if match.size == 0:
            raise ValueError(f'fixed threshold {fixed_threshold} is not in '
                             f'the threshold list {thr.tolist()}')
        best = int(match[0])
    out: Dict[str, object] = {k: float(v[best]) for k, v in curves.items()}
    out['best_threshold'] = float(thr[best])
    if top1 is not None:
        out['top1_cls'] = float(np.mean(top1) * 100)
    if top5 is not None:
        out['top5_cls'] = float(np.mean(top5) * 100)
    for k, v in curves.items():
        out[f'curve_{k}'] = v
    return out
