"""Official (wsolevaluation) box protocol: hand cases + slow cross-check."""
import cv2
import numpy as np
import pytest

from mmbas.evaluation.functional import (box_accuracy_curves, max_box_acc,
                                         normalize_scoremap_official,
                                         official_box_ious,
                                         official_thresholds,
                                         pairwise_iou_inclusive)


def slow_reference(scoremap, gt_boxes, thresholds, multi_contour):
    """Straightforward re-statement of wsolevaluation (loop + cv2)."""
    cam = np.asarray(scoremap, dtype=np.float64).copy()
    if np.isnan(cam).any() or cam.min() == cam.max():
        cam = np.zeros_like(cam)
    else:
        cam -= cam.min()
        cam /= cam.max()
    height, width = cam.shape
    img = np.expand_dims((cam * 255).astype(np.uint8), 2)
    best = []
    for thr in thresholds:
        _, binary = cv2.threshold(img, int(thr * np.max(img)), 255,
                                  cv2.THRESH_BINARY)
        contours = cv2.findContours(binary, cv2.RETR_TREE,
                                    cv2.CHAIN_APPROX_SIMPLE)[-2]
        if len(contours) == 0:
            boxes = [[0, 0, 0, 0]]
        else:
            if not multi_contour:
                contours = [max(contours, key=cv2.contourArea)]
            boxes = []
            for c in contours:
                x, y, w, h = cv2.boundingRect(c)
                boxes.append(
                    [x, y, min(x + w, width - 1),
                     min(y + h, height - 1)])
        best.append(pairwise_iou_inclusive(boxes, gt_boxes).max())
    return np.array(best)


def block_map(h, w, *blocks):
    m = np.zeros((h, w))
    for (y0, y1, x0, x1, v) in blocks:
        m[y0:y1 + 1, x0:x1 + 1] = v
    return m


def test_thresholds_list():
    thr = official_thresholds(0.01)
    assert len(thr) == 100 and thr[0] == 0 and thr[-1] < 1


def test_normalize_nan_and_constant():
    assert not normalize_scoremap_official(np.full((3, 3), 7.)).any()
    m = np.arange(9.).reshape(3, 3)
    m[1, 1] = np.nan
    assert not normalize_scoremap_official(m).any()
    n = normalize_scoremap_official(np.array([[2., 4.], [6., 10.]]))
    np.testing.assert_array_equal(n, [[0, .25], [.5, 1.]])


def test_single_block_box_clipping_quirk():
    # block rows 2..4, cols 3..6 -> boundingRect (3,2,4,3) -> [3,2,7,5]
    m = block_map(10, 10, (2, 4, 3, 6, 1.))
    v1, v2 = official_box_ious(m, [[3, 2, 6, 4]], [0.0, 0.5])
    np.testing.assert_array_equal(v1, [12 / 20, 12 / 20])
    np.testing.assert_array_equal(v2, v1)


def test_block_touching_border_is_clipped():
    m = block_map(10, 10, (5, 9, 6, 9, 3.))
    v1, v2 = official_box_ious(m, [[6, 5, 9, 9]], [0.3])
    assert v1[0] == 1.0 and v2[0] == 1.0


@pytest.mark.parametrize('value', [0., 5., np.nan])
def test_empty_constant_nan_maps_predict_zero_box(value):
    m = np.full((8, 8), value)
    v1, v2 = official_box_ious(m, [[0, 0, 0, 0]], [0., .5])
    np.testing.assert_array_equal(v1, [1., 1.])  # [0,0,0,0] vs itself
    v1, v2 = official_box_ious(m, [[0, 0, 1, 1]], [0., .5])
    np.testing.assert_array_equal(v2, [.25, .25])


def test_threshold_above_max_gives_zero_box():
    # u8 max 255: threshold 0.999 -> cut 254, still foreground; a map whose
    # top level is 1 (uint8) gives cut int(0.5*1) = 0 -> foreground u8 > 0
    m = block_map(6, 6, (1, 2, 1, 2, 1.))
    m = m / 255 * 1.5  # normalised back to 1 -> u8 255 anyway
    v1, _ = official_box_ious(m, [[1, 1, 3, 3]], [0.99])
    assert v1[0] == 1.0


def test_largest_vs_all_contours_and_several_gt():
    m = block_map(10, 10, (0, 5, 0, 5, 1.), (8, 9, 8, 9, 1.))
    gt = [[8, 8, 9, 9]]
    v1, v2 = official_box_ious(m, gt, [0.5])
    assert v1[0] == 0.0  # largest blob [0,0,6,6] misses the GT
    assert v2[0] == 1.0  # small blob box [8,8,9,9] (clipped)
    # with a second GT box on the big blob both reach IoU 1
    v1, v2 = official_box_ious(m, gt + [[0, 0, 6, 6]], [0.5])
    assert v1[0] == 1.0 and v2[0] == 1.0


def test_degenerate_gt_box_single_pixel():
    m = np.zeros((10, 10))
    m[5, 5] = 1.
    v1, v2 = official_box_ious(m, [[5, 5, 5, 5]], [0.5])
    # contour is one point -> boundingRect (5,5,1,1) -> [5,5,6,6]
    assert v1[0] == 0.25 and v2[0] == 0.25


def test_tie_in_contour_area_takes_first_contour():
    m = block_map(10, 10, (0, 2, 0, 2, 1.), (6, 8, 6, 8, 1.))
    u8 = (m * 255).astype(np.uint8)
    contours = cv2.findContours((u8 > 127).astype(np.uint8), cv2.RETR_TREE,
                                cv2.CHAIN_APPROX_SIMPLE)[-2]
    assert cv2.contourArea(contours[0]) == cv2.contourArea(contours[1])
    x, y, w, h = cv2.boundingRect(contours[0])
    first = [x, y, min(x + w, 9), min(y + h, 9)]
    v1, _ = official_box_ious(m, [first], [0.5])
    assert v1[0] == 1.0


def test_v2_picks_a_threshold_per_delta():
    # rings: centre (1.0) rows/cols 4..5, ring (0.5) rows/cols 2..7
    m = block_map(10, 10, (2, 7, 2, 7, .5), (4, 5, 4, 5, 1.))
    thr = [0., .25, .6]
    v1, v2 = official_box_ious(m, [[3, 3, 6, 6]], thr)
    # cut 0 / 63 -> ring box [2,2,8,8]: 16/49; cut 153 -> [4,4,6,6]: 9/16
    np.testing.assert_array_equal(v2, [16 / 49, 16 / 49, 9 / 16])
    ious = np.stack([v2, [1., 1., 0.]])  # second image, hand-made
    curves = box_accuracy_curves(ious, (30, 50, 70))
    np.testing.assert_array_equal(curves,
                                  [[100, 100, 50], [50, 50, 50], [50, 50, 0]])
    res = max_box_acc(ious, thr, (30, 50, 70))
    assert res['acc_30'] == 100 and res['thr_30'] == 0.
    assert res['acc_50'] == 50 and res['thr_50'] == 0.
    assert res['acc_70'] == 50 and res['thr_70'] == 0.
    res = max_box_acc(v2[None], thr, (30, 50, 70))
    assert (res['acc_30'], res['thr_30']) == (100, 0.)
    assert (res['acc_50'], res['thr_50']) == (100, .6)
    assert (res['acc_70'], res['thr_70']) == (0, 0.)
    assert res['mean'] == pytest.approx(200 / 3)


def test_iou_exactly_at_delta_counts():
    ious = np.array([[0.5, 0.3, 0.7]])
    np.testing.assert_array_equal(
        box_accuracy_curves(ious, (30, 50, 70)),
        [[100, 100, 100], [100, 0, 100], [0, 0, 100]])


def test_bad_inputs_name_the_image():
    with pytest.raises(ValueError, match='x.png'):
        official_box_ious(np.zeros((5, 5)), [[0, 0, 7, 3]], [0.], name='x.png')
    with pytest.raises(ValueError, match='inf'):
        official_box_ious(np.full((5, 5), np.inf), [[0, 0, 3, 3]], [0.])
    with pytest.raises(ValueError, match='outside'):
        official_box_ious(
            np.full((5, 5), 2.), [[0, 0, 3, 3]], [0.], normalize=False)


@pytest.mark.parametrize('method', ['auto', 'contours'])
@pytest.mark.parametrize('seed', range(3))
def test_matches_slow_reference_exactly(seed, method):
    rng = np.random.default_rng(seed)
    for i in range(25):
        step = (0.01, 0.001, 0.05, 0.1)[i % 4]
        thr = official_thresholds(step)
        h, w = (int(v) for v in rng.integers(3, 48, 2))
        low = rng.random((int(rng.integers(2, 7)), int(rng.integers(2, 7))))
        m = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)
        if i % 5 == 0:
            m = rng.random((h, w))  # many small contours and holes
        elif i % 5 == 1:
            m = np.round(m * 4)  # plateaus and ties
        elif i % 5 == 2:
            m = m.astype(np.float32) * 100 - 30
        x = np.sort(rng.integers(0, w + 1, (3, 2)), 1)
        y = np.sort(rng.integers(0, h + 1, (3, 2)), 1)
        gt = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
        v1, v2 = official_box_ious(m, gt, thr, method=method)
        np.testing.assert_array_equal(v1, slow_reference(m, gt, thr, False))
        np.testing.assert_array_equal(v2, slow_reference(m, gt, thr, True))
