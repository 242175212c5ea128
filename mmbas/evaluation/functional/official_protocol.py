"""The field-standard WSOL protocol of Choe et al. (CVPR 2020).

This re-implements, with vectorised numpy, the numbers produced by
``clovaai/wsolevaluation`` (``evaluation.py``/``inference.py``):

* **Normalisation** (``normalize_scoremap``): the map is cast to float64 (the
  reference converts tensors with ``astype(np.float)``); a map containing any
  NaN, or a constant map, becomes all zeros; otherwise
  ``(x - min) / (max - min)``.
* **Boxes** (``compute_bboxes_from_scoremaps``): ``u8 = uint8(map * 255)``
  (truncation); for a threshold ``t`` the cut is ``int(t * max(u8))`` and the
  foreground is ``u8 > cut`` (``cv2.THRESH_BINARY``).  Contours come from
  ``cv2.findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)``.  MaxBoxAcc (v1) keeps
  the contour with the largest ``cv2.contourArea`` (first one on ties),
  MaxBoxAccV2 keeps all contours.  A contour's box is ``boundingRect``
  ``(x, y, w, h)`` -> ``[x, y, min(x + w, W - 1), min(y + h, H - 1)]``; no
  contour -> ``[0, 0, 0, 0]``.  IoU uses the +1 convention; an image's score
  at a threshold is the best IoU over (predicted, GT) box pairs and it is
  correct when that IoU ``>= delta / 100``.
* **PxAP**: histograms over the bins ``[t0, t1), ..., [t_{n-1}, 1), [1, 2),
  [2, 3]`` of GT-positive and GT-negative pixel scores, cumulative TP/FP from
  the top, ``PxAP = 100 * sum(precision[1:] * diff(recall))`` over entries
  whose ``TP + FP`` is non-zero.

Boxes, two exact implementations (``official_box_ious(method=...)``):

* ``'contours'`` (:func:`official_box_ious_reference`, the reference): the
  foreground ``u8 > cut`` only changes when ``cut`` crosses a uint8 level
  that occurs in the map, so thresholds are grouped by their *effective* cut
  (largest occurring level ``<= cut``) and each group costs one
  ``findContours`` call.  Bounding rectangles and contour areas are computed
  for all contours of all cuts at once with ``np.*.reduceat`` (the shoelace
  sum over integer vertices is exact, hence identical to
  ``cv2.contourArea``).  ~15 ms per 224x224 map on the 2-core dev box.
* ``'sweep'`` (default when the C extension ``_box_sweep`` is built): every
  cut from union-find sweeps over the uint8 levels (``_box_sweep.c``), about
  9x faster (docs/benchmarks.md).  It rests on these facts about
  ``findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)`` on a binary map (OpenCV
  pads the map with background), checked against OpenCV 5.0 on 3,000-6,000
  random binary maps (noise, blobs, rings, sparse pixels, plateaus) and by
  the tests:

  - the contours are the outer border of each 8-connected foreground
    component and the border of each *hole* (4-connected background
    component that does not touch the image border); the outer border's
    box is the component's box, a hole border's box is the hole's box grown
    by one pixel on each side (the border runs on the foreground pixels
    around the hole);
  - ``contourArea`` (shoelace through the pixel centres), counted on the 2x2
    windows of pixels in half units: a component's outer border has
    ``W(C) + sum of the areas of its holes`` with ``W`` = #windows with 3
    pixels of ``C`` + 2 #windows with 4; a hole border has ``V(H) + sum of
    the areas of the components inside it`` with ``V`` = #windows with 1
    pixel of ``H`` + 2 #windows with 2-4.  So a nested contour is never
    larger than the one around it, and the largest contour is the outer
    border of a *top-level* component (one not inside a hole);
  - ``findContours`` lists the top-level components by decreasing first
    pixel (raster order); with ``max(contours, key=cv2.contourArea)`` the
    first largest contour is the top-level component of largest area whose
    first pixel comes last (checked on 6,000 binary maps, 669 of them with
    tied areas).

  Sweeps: (1) background, levels upwards: the holes of every cut and
  ``tau`` (the level at which a pixel joins the background that touches the
  border, i.e. ``u8`` with its holes filled); (2) foreground, levels
  downwards: component boxes, ``W``, and where no component is nested in a
  hole the largest contour, each hole's area going to the component left of
  it; (3) only for cuts with nested components: foreground sweep of ``tau``,
  whose components are the filled top-level components.  IoUs use the
  operations of ``box_utils.pairwise_iou_inclusive`` in the same order
  (bit-identical per-threshold IoUs).

Mask histograms use one arithmetic bin guess plus an exact correction
against the bin edges and a single ``np.bincount``.
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from .box_utils import (as_2d_map, best_iou_per_box, check_same_shape,
                        validate_gt_boxes)

try:
    from . import _box_sweep
    _BOX_SWEEP_ERROR = None
except ImportError as exc:  # pragma: no cover - built by setup.py
    _box_sweep = None
    _BOX_SWEEP_ERROR = f'not importable: {exc}'

DEFAULT_BOX_STEP = 0.01
DEFAULT_MASK_STEP = 0.001
IOU_DELTAS = (30, 50, 70)
# x and y are packed into 16 bits in the extension
_SWEEP_MAX_SIDE = 32766
BOX_SWEEP_AVAILABLE = _box_sweep is not None
#: the ``method`` values of :func:`official_box_ious`
BOX_METHODS = ('auto', 'sweep', 'contours')


def check_box_method(method: str) -> str:
    """Return ``method`` if it is one of :data:`BOX_METHODS`, else raise."""
    if method not in BOX_METHODS:
        raise ValueError(f"method must be 'auto', 'sweep' or 'contours', "
                         f'got {method!r}')
    return method


def official_thresholds(step: float) -> np.ndarray:
    """``np.arange(0, 1, step)``, the threshold list of wsolevaluation."""
    if not 0 < step < 1:
        raise ValueError(f'threshold step must be in (0, 1), got {step}')
    return np.arange(0, 1, step)


def normalize_scoremap_official(loc_map,
                                name: Optional[str] = None) -> np.ndarray:
    """wsolevaluation's ``normalize_scoremap`` on a float64 copy.

    NaN anywhere -> all zeros; constant map -> all zeros; otherwise min-max.
    """
    arr = as_2d_map(loc_map, name)
    if np.isnan(arr).any():
        return np.zeros_like(arr)
    lo, hi = arr.min(), arr.max()
    if lo == hi:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)


def _check_unit_range(loc_map, name: Optional[str]) -> np.ndarray:
    """For ``normalize=False``: NaN -> 0, then require values in [0, 1]."""
    arr = as_2d_map(loc_map, name)
    arr = np.where(np.isnan(arr), 0., arr)
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(
            f'normalize=False but the map of {name!r} is outside [0, 1] '
            f'([{arr.min()}, {arr.max()}]); normalise it or pass '
            'normalize=True.')
    return arr


# --------------------------------------------------------------------------
# boxes
# --------------------------------------------------------------------------
def _threshold_cuts(
        u8: np.ndarray,
        thresholds: np.ndarray) -> Tuple[np.ndarray, np.ndarray, int]:
    """Map thresholds to effective uint8 cuts.

    Returns ``(unique_cuts, inverse, max_level)`` where the foreground of
    threshold ``i`` is ``u8 > unique_cuts[inverse[i]]``.
    """
    top = int(u8.max())
    # int(t * max) of the reference: float64 product, truncation toward 0.
    cuts = (thresholds * float(top)).astype(np.int64)
    present = np.bincount(u8.ravel(), minlength=256) > 0
    last_present = np.maximum.accumulate(np.where(present, np.arange(256), -1))
    eff = np.where(cuts < 0, -1, last_present[np.clip(cuts, 0, 255)])
    # every cut at or above the maximum level gives an empty foreground
    eff = np.minimum(eff, top)
    uniq, inverse = np.unique(eff, return_inverse=True)
    return uniq, inverse.reshape(-1), top


def official_box_ious(loc_map,
                      gt_boxes,
                      thresholds: Sequence[float],
                      normalize: bool = True,
                      name: Optional[str] = None,
                      method: str = 'auto') -> Tuple[np.ndarray, np.ndarray]:
    """Per-threshold best IoU of one map, official (contour) protocol.

    Args:
        loc_map: HxW localization map (any float range; see ``normalize``).
        gt_boxes: ``(G, 4)`` x0y0x1y1 boxes in the map frame.
        thresholds: map thresholds in [0, 1).
        normalize: apply :func:`normalize_scoremap_official` first.  With
            ``False`` the map must already lie in [0, 1] (NaN still -> 0).
        name: image name for error messages.
        method: ``'sweep'`` (union-find sweeps of the compiled extension,
            all thresholds at once), ``'contours'`` (one
            ``cv2.findContours`` per distinct cut,
            :func:`official_box_ious_reference`) or ``'auto'`` (``'sweep'``
            when the extension is built, else ``'contours'``).  Both give
            bit-identical IoUs.

    Returns:
        ``(iou_largest, iou_all)``, two float64 arrays of len(thresholds):
        best IoU of the largest contour's box (MaxBoxAcc) and best IoU over
        all contours' boxes (MaxBoxAccV2).
    """
    check_box_method(method)
    if method == 'sweep' and _box_sweep is None:
        raise RuntimeError(
            "method='sweep' needs the compiled extension "
            f'mmbas.evaluation.functional._box_sweep ({_BOX_SWEEP_ERROR}); '
            'reinstall mmbas with a C compiler (pip install -e .) or use '
            "method='contours'.")
    if method != 'contours' and _box_sweep is not None:
        out = _box_ious_sweep(loc_map, gt_boxes, thresholds, normalize, name)
        if out is not None:
            return out
    return official_box_ious_reference(loc_map, gt_boxes, thresholds,
                                       normalize, name)


def _box_ious_sweep(
        loc_map, gt_boxes, thresholds, normalize: bool,
        name: Optional[str]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The ``'sweep'`` method; None where the reference must take over.

    The map (float32 / float64 as given, anything else as float64) is
    quantised in C; a map that :func:`as_2d_map` / :func:`_check_unit_range`
    would reject, one too large for the extension, or NaN / huge thresholds
    return None so that the reference path raises (or computes) exactly as
    before.
    """
    arr = np.asarray(loc_map)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.size == 0 or max(arr.shape) > _SWEEP_MAX_SIDE:
        return None
    if arr.dtype != np.float32 and arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    u8 = np.empty(arr.shape, dtype=np.uint8)
    if _box_sweep.quantize(arr, arr.dtype == np.float32, normalize, u8):
        return None  # inf, or out of [0, 1] without normalize
    height, width = arr.shape
    gts = np.ascontiguousarray(
        validate_gt_boxes(gt_boxes, height, width, name), dtype=np.float64)
    thr = np.ascontiguousarray(
        np.asarray(thresholds, dtype=np.float64).reshape(-1))
    if thr.size and not (np.abs(thr) < 1e15).all():
        return None  # NaN / huge: int(t * top) is numpy's (platform) call
    iou_largest = np.empty(len(thr))
    iou_all = np.empty(len(thr))
    _box_sweep.box_ious(u8, height, width, thr, gts, iou_largest, iou_all)
    return iou_largest, iou_all


def official_box_ious_reference(
        loc_map,
        gt_boxes,
        thresholds: Sequence[float],
        normalize: bool = True,
        name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`official_box_ious` with ``cv2.findContours`` per distinct cut.

    The slow exact reference (``method='contours'``): one ``findContours``
    per effective cut, boxes and ``contourArea`` of all contours at once.
    Same arguments and return value as :func:`official_box_ious`.
    """
    if normalize:
        norm = normalize_scoremap_official(loc_map, name)
    else:
        norm = _check_unit_range(loc_map, name)
    height, width = norm.shape
    gts = validate_gt_boxes(gt_boxes, height, width, name)
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    u8 = (norm * 255).astype(np.uint8)
    cuts, inverse, top = _threshold_cuts(u8, thr)

    contours_all = []
    counts = np.zeros(len(cuts), dtype=np.int64)
    # Tracing only the bounding window of the foreground gives the same
    # contours (OpenCV pads the image with zeros internally and scans in
    # raster order; removing empty rows/columns keeps that order), shifted
    # back with ``offset``.
    # The windows of all cuts at once: the first column whose maximum
    # exceeds ``cut`` is where the running maximum from the left first does
    # (searchsorted on the non-decreasing running maximum), and likewise
    # from the right / top / bottom.
    col_max = u8.max(axis=0)
    row_max = u8.max(axis=1)
    xa_all = np.searchsorted(np.maximum.accumulate(col_max), cuts, 'right')
    xb_all = width - np.searchsorted(
        np.maximum.accumulate(col_max[::-1]), cuts, 'right')
    ya_all = np.searchsorted(np.maximum.accumulate(row_max), cuts, 'right')
    yb_all = height - np.searchsorted(
        np.maximum.accumulate(row_max[::-1]), cuts, 'right')
    for k, cut in enumerate(cuts.tolist()):
        if cut >= top:  # nothing is strictly above the maximum level
            continue
        xa, xb = int(xa_all[k]), int(xb_all[k])
        ya, yb = int(ya_all[k]), int(yb_all[k])
        # 0/1 foreground of the window (cv2.threshold: u8 > cut -> 1)
        fg = cv2.threshold(u8[ya:yb, xa:xb], cut, 1, cv2.THRESH_BINARY)[1] \
            if cut >= 0 else np.ones((yb - ya, xb - xa), np.uint8)
        contours = cv2.findContours(
            fg, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE, offset=(xa, ya))[-2]
        counts[k] = len(contours)
        contours_all.extend(contours)

    empty_iou = best_iou_per_box(np.zeros((1, 4)), gts)[0]
    iou_largest = np.full(len(cuts), empty_iou)
    iou_all = np.full(len(cuts), empty_iou)
    if contours_all:
        lengths = np.fromiter((len(c) for c in contours_all), np.int64,
                              len(contours_all))
        pts = np.concatenate(contours_all).reshape(-1, 2).astype(np.int64)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        xs, ys = pts[:, 0], pts[:, 1]
        # boundingRect -> [x, y, x + w, y + h] clipped to W-1 / H-1
        x0 = np.minimum.reduceat(xs, starts)
        y0 = np.minimum.reduceat(ys, starts)
        x1 = np.minimum(np.maximum.reduceat(xs, starts) + 1, width - 1)
        y1 = np.minimum(np.maximum.reduceat(ys, starts) + 1, height - 1)
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        # shoelace area with the previous vertex (cyclic), exact in int64
        prev = np.arange(len(pts)) - 1
        prev[starts] = starts + lengths - 1
        cross = xs[prev] * ys - ys[prev] * xs
        area = np.abs(np.add.reduceat(cross, starts))
        box_iou = best_iou_per_box(boxes, gts)

        nonempty = np.flatnonzero(counts)
        seg_starts = np.zeros(len(nonempty), dtype=np.int64)
        np.cumsum(counts[nonempty][:-1], out=seg_starts[1:])
        seg_of = np.repeat(np.arange(len(nonempty)), counts[nonempty])
        iou_all[nonempty] = np.maximum.reduceat(box_iou, seg_starts)
        seg_max = np.maximum.reduceat(area, seg_starts)
        idx = np.arange(len(area))
        first_max = np.minimum.reduceat(
            np.where(area == seg_max[seg_of], idx, len(area)), seg_starts)
        iou_largest[nonempty] = box_iou[first_max]
    return iou_largest[inverse], iou_all[inverse]


def box_accuracy_curves(ious,
                        deltas: Sequence[float] = IOU_DELTAS) -> np.ndarray:
    """Per-threshold accuracy (%) for each delta.

    Args:
        ious: ``(N, T)`` per-image per-threshold best IoU.
        deltas: IoU thresholds in percent; correct iff ``iou >= delta / 100``.

    Returns:
        ``(len(deltas), T)`` accuracies in percent.
    """
    ious = np.asarray(ious, dtype=np.float64)
    if ious.ndim != 2 or ious.shape[0] == 0:
        raise ValueError('need a non-empty (num_images, num_thresholds) '
                         'IoU array')
    return np.stack([(ious >= d / 100).sum(0) * 100. / ious.shape[0]
                     for d in deltas])


def max_box_acc(ious,
                thresholds: Sequence[float],
                deltas: Sequence[float] = IOU_DELTAS) -> Dict[str, float]:
    """MaxBoxAcc-style summary: per delta the best accuracy and threshold.

    Returns a dict ``{'acc_<delta>': ..., 'thr_<delta>': ..., 'mean': ...}``
    where ``mean`` is the average over deltas of the best accuracies (this is
    MaxBoxAccV2 for deltas (30, 50, 70) and the all-contour IoUs, and
    MaxBoxAcc for deltas (50,) and the largest-contour IoUs).  Ties between
    thresholds resolve to the smallest threshold.
    """
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    curves = box_accuracy_curves(ious, deltas)
    out = {}
    for d, curve in zip(deltas, curves):
        best = int(np.argmax(curve))
        out[f'acc_{d:g}'] = float(curve[best])
        out[f'thr_{d:g}'] = float(thr[best])
    out['mean'] = float(np.mean([out[f'acc_{d:g}'] for d in deltas]))
    return out


# --------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------
def mask_bin_edges(thresholds: Sequence[float]) -> np.ndarray:
    """Bin edges ``thresholds + [1, 2, 3]`` of wsolevaluation's
    MaskEvaluator."""
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if thr.size == 0 or (np.diff(thr) <= 0).any() or thr[0] < 0 or \
            thr[-1] >= 1:
        raise ValueError('mask thresholds must be strictly increasing in '
                         '[0, 1)')
    return np.append(thr, [1.0, 2.0, 3.0])


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index ``i`` with ``edges[i] <= v < edges[i + 1]`` (``np.histogram``).

    Values are in [0, 1].  For (near-)uniform threshold lists an arithmetic
    guess is corrected against the exact edges; otherwise searchsorted.
    """
    n = len(edges) - 3  # number of thresholds
    step = edges[1] - edges[0] if n > 1 else 1.0
    uniform = n > 1 and np.allclose(
        np.diff(edges[:n]), step, rtol=0, atol=step * 1e-6) and edges[0] == 0
    if not uniform:
        return np.searchsorted(edges, values, side='right') - 1
    idx = np.minimum((values * (1.0 / step)).astype(np.int64), n)
    # values >= 1 belong to the bin [1, 2): index n
    for _ in range(4):
        low = edges[idx] > values
        high = edges[idx + 1] <= values
        if not (low.any() or high.any()):
            return idx
        idx = idx - low + high
    return np.searchsorted(edges, values, side='right') - 1


def mask_histograms(
        loc_map,
        gt_mask,
        thresholds: Sequence[float],
        ignore_mask=None,
        normalize: bool = True,
        name: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Score histograms of GT-positive and GT-negative pixels of one image.

    Args:
        loc_map: HxW map.
        gt_mask: HxW; bool, or integers where 1 = foreground, 0 = background
            and 255 = ignore (wsolevaluation's mask encoding).  Any other
            value raises.
        thresholds: strictly increasing thresholds in [0, 1).
        ignore_mask: optional HxW bool; pixels excluded from both
            histograms.  As in wsolevaluation, foreground pixels are never
            ignored (ignore := ignore & ~foreground).
        normalize: apply :func:`normalize_scoremap_official` first.

    Returns:
        ``(pos_hist, neg_hist)``, int64 arrays of ``len(thresholds) + 2``.
    """
    if normalize:
        norm = normalize_scoremap_official(loc_map, name)
    else:
        norm = _check_unit_range(loc_map, name)
    edges = mask_bin_edges(thresholds)
    gt = np.asarray(gt_mask)
    while gt.ndim > 2 and gt.shape[0] == 1:
        gt = gt[0]
    check_same_shape(norm.shape, gt.shape, 'gt_mask', name)
    if gt.dtype == bool:
        label = gt.astype(np.int64)
    else:
        bad = (gt != 0) & (gt != 1) & (gt != 255)
        if bad.any():
            raise ValueError(
                f'gt_mask of {name!r} has values {np.unique(gt[bad])[:5]}; '
                'use 0 = background, 1 = foreground, 255 = ignore (or a bool '
                'mask).')
        label = np.where(gt == 255, 2, gt).astype(np.int64)
    if ignore_mask is not None:
        ign = np.asarray(ignore_mask)
        while ign.ndim > 2 and ign.shape[0] == 1:
            ign = ign[0]
        check_same_shape(norm.shape, ign.shape, 'ignore_mask', name)
        label[(ign != 0) & (label == 0)] = 2
    num_bins = len(edges) - 1
    idx = _bin_index(norm.ravel(), edges)
    counts = np.bincount(
        label.ravel() * num_bins + idx, minlength=3 * num_bins)
    return counts[num_bins:2 * num_bins].copy(), counts[:num_bins].copy()


def _cumulative_from_top(pos_hist, neg_hist):
    pos = np.asarray(pos_hist, dtype=np.float64)
    neg = np.asarray(neg_hist, dtype=np.float64)
    tp = pos[::-1].cumsum()
    fp = neg[::-1].cumsum()
    return tp, fp, pos.sum(), neg.sum()


def pxap_from_histograms(pos_hist, neg_hist) -> float:
    """PxAP (percent) exactly as wsolevaluation's ``MaskEvaluator.compute``.

    Returns NaN when there is no positive GT pixel or no pixel at all above the
    lowest threshold (the reference raises RuntimeError there).
    """
    tp, fp, num_pos, _ = _cumulative_from_top(pos_hist, neg_hist)
    fn = num_pos - tp
    if ((tp + fn) <= 0).all() or ((tp + fp) <= 0).all():
        return float('nan')
    nonzero = (tp + fp) != 0
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
    auc = (precision[1:] * np.diff(recall))[nonzero[1:]].sum()
    return float(auc * 100)


def piou_from_histograms(pos_hist, neg_hist,
                         thresholds: Sequence[float]) -> Tuple[float, float]:
    """Best pixel IoU (percent) over thresholds, and the threshold.

    Prediction at threshold ``t_i`` is ``score >= t_i``;
    ``IoU = TP / (TP + FP + FN)`` over non-ignored pixels.  Ties resolve to
    the smallest threshold.  NaN when there are no positive GT pixels.
    """
    thr = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    pos = np.asarray(pos_hist, dtype=np.float64)
    neg = np.asarray(neg_hist, dtype=np.float64)
    num_pos = pos.sum()
    if num_pos <= 0:
        return float('nan'), float('nan')
    # scores >= t_i  <=>  bins i .. end
    tp = pos[::-1].cumsum()[::-1][:len(thr)]
    fp = neg[::-1].cumsum()[::-1][:len(thr)]
    iou = tp / (num_pos + fp)
    best = int(np.argmax(iou))
    return float(iou[best] * 100), float(thr[best])
