"""Official PxAP / PIoU: hand cases + slow cross-check."""
import cv2
import numpy as np
import pytest

from mmbas.evaluation.functional import (mask_histograms,
                                         normalize_scoremap_official,
                                         official_thresholds,
                                         piou_from_histograms,
                                         pxap_from_histograms)

MAP = np.array([[0., .5], [1., .25]])
GT = np.array([[0, 1], [1, 0]], dtype=np.uint8)
THR = [0., .5]


def slow_reference(maps, masks, thresholds):
    """wsolevaluation's MaskEvaluator (np.histogram) + per-threshold IoU."""
    edges = np.append(thresholds, [1., 2., 3.])
    pos_h = np.zeros(len(edges) - 1)
    neg_h = np.zeros(len(edges) - 1)
    pos_scores, neg_scores = [], []
    for m, g in zip(maps, masks):
        cam = np.asarray(m, dtype=np.float64).copy()
        if np.isnan(cam).any() or cam.min() == cam.max():
            cam = np.zeros_like(cam)
        else:
            cam -= cam.min()
            cam /= cam.max()
        pos_h += np.histogram(cam[g == 1], bins=edges)[0]
        neg_h += np.histogram(cam[g == 0], bins=edges)[0]
        pos_scores.append(cam[g == 1])
        neg_scores.append(cam[g == 0])
    tp = pos_h[::-1].cumsum()
    fp = neg_h[::-1].cumsum()
    fn = pos_h.sum() - tp
    nonzero = (tp + fp) != 0
    with np.errstate(all='ignore'):
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
    pxap = (precision[1:] * np.diff(recall))[nonzero[1:]].sum() * 100
    pos_s = np.concatenate(pos_scores)
    neg_s = np.concatenate(neg_scores)
    ious = []
    for t in thresholds:
        tp_t = float((pos_s >= t).sum())
        fp_t = float((neg_s >= t).sum())
        fn_t = float((pos_s < t).sum())
        ious.append(tp_t / (tp_t + fp_t + fn_t))
    best = int(np.argmax(ious))
    return pos_h, neg_h, pxap, ious[best] * 100, thresholds[best]


def test_hand_case_pxap_piou():
    pos, neg = mask_histograms(MAP, GT, THR)
    np.testing.assert_array_equal(pos, [0, 1, 1, 0])
    np.testing.assert_array_equal(neg, [2, 0, 0, 0])
    # tp=[0,1,2,2] fp=[0,0,0,2] -> P=[nan,1,1,.5] R=[0,.5,1,1]
    assert pxap_from_histograms(pos, neg) == 100.0
    assert piou_from_histograms(pos, neg, THR) == (100.0, 0.5)


def test_bool_mask_and_ignore_regions():
    ignore = np.array([[0, 0], [0, 1]], bool)
    pos, neg = mask_histograms(MAP, GT.astype(bool), THR, ignore_mask=ignore)
    np.testing.assert_array_equal(neg, [1, 0, 0, 0])
    # foreground pixels are never ignored (wsolevaluation semantics)
    pos2, neg2 = mask_histograms(MAP, GT, THR, ignore_mask=np.ones((2, 2)))
    np.testing.assert_array_equal(pos2, [0, 1, 1, 0])
    np.testing.assert_array_equal(neg2, [0, 0, 0, 0])
    # 255 in the GT mask means ignore
    gt255 = GT.copy()
    gt255[0, 0] = 255
    pos3, neg3 = mask_histograms(MAP, gt255, THR)
    np.testing.assert_array_equal(neg3, [1, 0, 0, 0])
    # PIoU at t=0: tp 2, fp 1 -> 2/3
    piou, thr = piou_from_histograms(pos3, neg3, [0.])
    assert piou == pytest.approx(200 / 3) and thr == 0.


def test_pxap_tie_at_one_bin_and_constant_map():
    # constant map -> all zeros -> every pixel in bin 0
    pos, neg = mask_histograms(np.full((2, 2), 3.), GT, THR)
    np.testing.assert_array_equal(pos, [2, 0, 0, 0])
    # tp=[0,0,0,2] fp=[0,0,0,2]: P=[nan,nan,nan,.5], R=[0,0,0,1] -> 50
    assert pxap_from_histograms(pos, neg) == 50.0
    assert piou_from_histograms(pos, neg, THR) == (50.0, 0.0)
    nan_map = MAP.copy()
    nan_map[0, 0] = np.nan
    pos_n, neg_n = mask_histograms(nan_map, GT, THR)
    np.testing.assert_array_equal(pos_n, pos)


def test_no_positive_pixels_is_nan():
    pos, neg = mask_histograms(MAP, np.zeros((2, 2), np.uint8), THR)
    assert np.isnan(pxap_from_histograms(pos, neg))
    assert np.isnan(piou_from_histograms(pos, neg, THR)[0])


def test_bad_masks():
    with pytest.raises(ValueError, match='a.jpg.*resize'):
        mask_histograms(MAP, np.zeros((3, 2)), THR, name='a.jpg')
    with pytest.raises(ValueError, match='ignore_mask'):
        mask_histograms(MAP, GT, THR, ignore_mask=np.zeros((2, 3)))
    with pytest.raises(ValueError, match='255 = ignore'):
        mask_histograms(MAP, GT * 7, THR)
    with pytest.raises(ValueError, match='increasing'):
        mask_histograms(MAP, GT, [0.5, 0.1])


@pytest.mark.parametrize('step', [0.001, 0.01, 0.037])
def test_matches_slow_reference_exactly(step):
    rng = np.random.default_rng(int(step * 1000))
    thr = official_thresholds(step)
    maps, masks = [], []
    pos = np.zeros(len(thr) + 2, np.int64)
    neg = np.zeros_like(pos)
    for i in range(12):
        h, w = (int(v) for v in rng.integers(4, 40, 2))
        m = cv2.resize(rng.random((5, 6)), (w, h))
        if i % 3 == 0:
            m = np.round(m * 1000) / 1000  # values exactly on bin edges
        if i % 4 == 1:
            m = m.astype(np.float32)
        g = (rng.random((h, w)) > 0.6).astype(np.uint8)
        g[rng.random((h, w)) > 0.9] = 255
        p, n = mask_histograms(m, g, thr)
        pos += p
        neg += n
        maps.append(m)
        masks.append(g)
    ref = slow_reference(maps, masks, thr)
    np.testing.assert_array_equal(pos, ref[0])
    np.testing.assert_array_equal(neg, ref[1])
    assert pxap_from_histograms(pos, neg) == ref[2]
    assert piou_from_histograms(pos, neg, thr) == (ref[3], ref[4])
    assert normalize_scoremap_official(maps[0]).max() == 1.0
