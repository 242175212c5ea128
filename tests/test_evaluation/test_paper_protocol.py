"""BAS paper protocol: hand cases + slow cross-check."""
import cv2
import numpy as np
import pytest

from mmbas.evaluation.functional import (normalize_minmax_eps,
                                         pairwise_iou_inclusive,
                                         paper_box_ious, paper_loc_summary,
                                         topk_correct)


def two_blobs():
    m = np.zeros((10, 10))
    m[0:3, 0:3] = 1.  # 9 px
    m[6:8, 6:8] = 1.  # 4 px
    return m


def test_largest_component_inclusive_box_and_multi_gt():
    m = two_blobs()
    assert paper_box_ious(m, [[0, 0, 2, 2]], [0.5])[0] == 1.0
    assert paper_box_ious(m, [[6, 6, 7, 7]], [0.5])[0] == 0.0
    assert paper_box_ious(m, [[6, 6, 7, 7], [0, 0, 2, 2]], [0.5])[0] == 1.0


def test_threshold_is_inclusive():
    m = np.zeros((6, 6))
    m[1:3, 1:4] = 0.5
    m[4, 4] = 1.0
    # normalize=False: 0.5 >= 0.5 keeps the 2x3 block (largest)
    assert paper_box_ious(m, [[1, 1, 3, 2]], [0.5], normalize=False)[0] == 1.
    assert paper_box_ious(m, [[4, 4, 4, 4]], [0.51], normalize=False)[0] == 1.


def test_eight_connectivity():
    m = np.zeros((5, 5))
    m[0, 0] = m[1, 1] = m[2, 2] = 1.  # diagonal = one 8-connected blob
    m[4, 0] = m[4, 1] = 1.
    assert paper_box_ious(m, [[0, 0, 2, 2]], [0.5])[0] == 1.


def test_constant_empty_and_nan_maps():
    for value in (0., 4., np.nan):
        m = np.full((4, 5), value)
        ious = paper_box_ious(m, [[0, 0, 4, 3]], [0., 0.1])
        # t=0: everything >= 0 -> full box; t=0.1: empty -> IoU 0
        np.testing.assert_array_equal(ious, [1., 0.])


def test_normalisation_eps():
    n = normalize_minmax_eps(np.array([[1., 3.]]))
    assert n[0, 0] == 0 and n[0, 1] == 2 / (2 + 1e-5)


def test_border_and_degenerate_boxes():
    m = np.zeros((6, 8))
    m[3:, 5:] = 1.
    assert paper_box_ious(m, [[5, 3, 7, 5]], [0.5])[0] == 1.
    # exclusive-style GT edge on the border (x1 == W) is accepted
    assert paper_box_ious(m, [[5, 3, 8, 6]], [0.5])[0] == 9 / 16
    m = np.zeros((6, 8))
    m[2, 2] = 1.
    assert paper_box_ious(m, [[2, 2, 2, 2]], [0.5])[0] == 1.


def test_topk_ties():
    s = [0.1, 0.5, 0.5, 0.2, 0.0, 0.3, 0.4]
    assert topk_correct(s, 2) == (True, True)  # tie with class 1
    assert topk_correct(s, 3) == (False, True)
    assert topk_correct(s, 4) == (False, False)
    with pytest.raises(ValueError):
        topk_correct(s, 9)


def test_summary_threshold_selection():
    ious = np.array([[0.6, 0.4, 0.8], [0.2, 0.55, 0.75], [0.5, 0.5, 0.1]])
    thr = [0.1, 0.2, 0.3]
    top1 = np.array([True, False, True])
    top5 = np.array([True, True, True])
    s = paper_loc_summary(ious, thr, top1, top5)
    # gt-known curve: [66.7, 66.7, 66.7] -> tie -> first threshold
    assert s['best_threshold'] == 0.1
    assert s['gt_known_loc'] == pytest.approx(200 / 3)
    assert s['top1_loc'] == pytest.approx(200 / 3)
    assert s['iou30'] == pytest.approx(200 / 3)
    assert s['iou70'] == 0.
    s = paper_loc_summary(ious, thr, top1, top5, fixed_threshold=0.3)
    assert s['best_threshold'] == 0.3
    assert s['top1_loc'] == pytest.approx(100 / 3)
    assert s['top5_loc'] == pytest.approx(200 / 3)
    assert s['iou70'] == pytest.approx(200 / 3)
    assert s['top1_cls'] == pytest.approx(200 / 3)
    with pytest.raises(ValueError):
        paper_loc_summary(ious, thr, fixed_threshold=0.25)


def slow_reference(m, gt, thresholds):
    n = np.asarray(m, np.float64)
    n = np.zeros_like(n) if np.isnan(n).any() else \
        (n - n.min()) / (n.max() - n.min() + 1e-5)
    out = []
    for t in thresholds:
        fg = (n >= t).astype(np.uint8)
        num, labels = cv2.connectedComponents(fg, connectivity=8)
        if num <= 1:
            out.append(0.)
            continue
        sizes = [(labels == k).sum() for k in range(1, num)]
        ys, xs = np.nonzero(labels == 1 + int(np.argmax(sizes)))
        box = [xs.min(), ys.min(), xs.max(), ys.max()]
        out.append(pairwise_iou_inclusive([box], gt).max())
    return np.array(out)


def test_matches_slow_reference():
    rng = np.random.default_rng(3)
    thr = np.arange(0, 1, 0.05)
    for i in range(20):
        h, w = (int(v) for v in rng.integers(4, 40, 2))
        m = cv2.resize(rng.random((4, 5)), (w, h))
        if i % 3 == 0:
            m = rng.random((h, w))
        x = np.sort(rng.integers(0, w, (2, 2)), 1)
        y = np.sort(rng.integers(0, h, (2, 2)), 1)
        gt = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
        np.testing.assert_array_equal(
            paper_box_ious(m, gt, thr), slow_reference(m, gt, thr))
