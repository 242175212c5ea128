# Copyright (c) mmbas contributors. All rights reserved.
"""The union-find sweeps (``method='sweep'``) against the findContours
reference (``method='contours'``): bit-identical per-threshold IoUs."""
import shutil

import cv2
import numpy as np
import pytest

from mmbas.evaluation.functional import (BOX_SWEEP_AVAILABLE,
                                         official_box_ious,
                                         official_box_ious_reference,
                                         official_thresholds)
from mmbas.evaluation.metrics import WSOLBoxMetric

needs_sweep = pytest.mark.skipif(
    not BOX_SWEEP_AVAILABLE,
    reason='C extension mmbas.evaluation.functional._box_sweep not built')

STEPS = (0.01, 0.05, 0.003, 0.1)


def test_extension_is_built_where_a_compiler_is():
    if shutil.which('gcc') is None and shutil.which('cc') is None:
        pytest.skip('no C compiler: the contour fallback is used')
    assert BOX_SWEEP_AVAILABLE, (
        'mmbas.evaluation.functional._box_sweep is not built; reinstall with '
        '`pip install --no-build-isolation -e .`')


# --------------------------------------------------------------------------
# map families
# --------------------------------------------------------------------------
def smooth(rng, h, w, grid=None):
    gh, gw = grid or (int(rng.integers(2, 9)), int(rng.integers(2, 9)))
    return cv2.resize(
        rng.random((gh, gw)), (w, h), interpolation=cv2.INTER_LINEAR)


def rings(h, w, period, cy=None, cx=None, square=False):
    """Concentric rings (holes, components nested in holes, ...)."""
    yy, xx = np.indices((h, w), dtype=np.float64)
    cy = (h - 1) / 2 if cy is None else cy
    cx = (w - 1) / 2 if cx is None else cx
    r = np.maximum(np.abs(yy - cy), np.abs(xx - cx)) if square else \
        np.hypot(yy - cy, xx - cx)
    return r, (r // period) % 2


def family_maps(family, rng, count):
    """``count`` maps of one family (sizes 1..60 unless stated)."""
    out = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(3, 50, 2))
        if family == 'cam':  # smooth CAM-like, some with a little noise
            m = smooth(rng, h, w) + (0.02 * rng.random((h, w)) if i % 2 else 0)
        elif family == 'noise':
            m = rng.random((h, w))
        elif family == 'plateaus':
            m = np.round(smooth(rng, h, w) * int(rng.integers(2, 6)))
        elif family == 'holes':  # ring-shaped ridges around basins
            m = np.abs(np.sin(smooth(rng, h, w) * float(rng.uniform(8, 25))))
        elif family == 'nested':  # rings in holes in rings, graded levels
            r, band = rings(h, w, int(rng.integers(1, 4)), square=bool(i % 2))
            m = band * (1 + r) if i % 3 else band + 0.1 * r
        elif family == 'pixels':  # isolated single pixels, some diagonal
            m = (rng.random((h, w)) < 0.12) * rng.random((h, w))
            if i % 2:
                m[::2, ::2] = 0.5
        elif family == 'lines':
            m = np.zeros((h, w))
            m[int(rng.integers(h)), :] = 0.7
            m[:, int(rng.integers(w))] = 0.4
            d = np.arange(min(h, w))
            m[d, d] = 1.0  # diagonal line: 8-connected only
            m[d[::-1], d] = np.maximum(m[d[::-1], d], 0.2)
        elif family == 'diagonal':  # checkerboards: diagonal connections
            m = ((np.indices((h, w)).sum(0) % 2) * (1 + (rng.random(
                (h, w)) < 0.3)))
        elif family == 'border':  # blocks and frames touching the border
            m = np.zeros((h, w))
            m[:int(rng.integers(1, h)), :int(rng.integers(1, w))] = 1
            m[-int(rng.integers(1, h)):, -int(rng.integers(1, w)):] = 0.6
            m[0, :] = np.maximum(m[0, :], 0.3)
            m[:, -1] = np.maximum(m[:, -1], 0.8)
            if min(h, w) > 4:
                m[2:-2, 2:-2] = np.minimum(m[2:-2, 2:-2], 0.1)
        elif family == 'ties':  # equal-area blobs: findContours order
            m = np.zeros((h, w))
            s = int(rng.integers(1, 4))
            m[::s + 2, ::s + 2] = 1
            m = cv2.dilate(m, np.ones((s, s), np.uint8))
        elif family == 'tiny':
            h, w = (int(v) for v in rng.integers(1, 4, 2))
            m = rng.random((h, w))
        else:
            raise KeyError(family)
        out.append(m)
    return out


def random_gt(rng, h, w):
    """1-4 GT boxes, some with fractional coordinates, within the map."""
    g = int(rng.integers(1, 5))
    x = np.sort(rng.uniform(0, w, (g, 2)), 1)
    y = np.sort(rng.uniform(0, h, (g, 2)), 1)
    gt = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
    if rng.random() < 0.5:
        gt = np.floor(gt)
    return gt


def assert_same(m, gt, thr, normalize=True):
    r1, r2 = official_box_ious(
        m, gt, thr, normalize=normalize, method='contours')
    f1, f2 = official_box_ious(m, gt, thr, normalize=normalize, method='sweep')
    np.testing.assert_array_equal(f1, r1, err_msg='MaxBoxAcc (largest)')
    np.testing.assert_array_equal(f2, r2, err_msg='MaxBoxAccV2 (all)')


FAMILIES = ('cam', 'noise', 'plateaus', 'holes', 'nested', 'pixels', 'lines',
            'diagonal', 'border', 'ties', 'tiny')


@needs_sweep
@pytest.mark.parametrize('family', FAMILIES)
def test_sweep_equals_contours(family):
    rng = np.random.default_rng(FAMILIES.index(family))
    maps = family_maps(family, rng, 30)
    for i, m in enumerate(maps):
        thr = official_thresholds(STEPS[i % len(STEPS)])
        assert_same(m, random_gt(rng, *m.shape), thr)


@needs_sweep
def test_sweep_equals_contours_cam_224():
    rng = np.random.default_rng(11)
    for i in range(6):
        m = smooth(rng, 224, 224, grid=(14, 14)).astype(np.float32)
        if i % 2:
            m = m + 0.05 * rng.random(m.shape, dtype=np.float32)
        assert_same(m, random_gt(rng, 224, 224), official_thresholds(0.01))


@needs_sweep
@pytest.mark.parametrize('value', [0., 3., -2.5, np.nan])
def test_sweep_constant_and_nan_maps(value):
    rng = np.random.default_rng(3)
    for h, w in ((1, 1), (5, 7), (20, 3)):
        m = np.full((h, w), value)
        assert_same(m, random_gt(rng, h, w), official_thresholds(0.05))
        m = smooth(rng, h, w)
        m[rng.random((h, w)) < 0.1] = np.nan  # NaN anywhere -> zeros
        m.flat[0] = np.nan
        assert_same(m, random_gt(rng, h, w), official_thresholds(0.05))


@needs_sweep
def test_sweep_unnormalised_maps_and_dtypes():
    rng = np.random.default_rng(4)
    for i in range(20):
        h, w = (int(v) for v in rng.integers(2, 40, 2))
        m = smooth(rng, h, w)
        m = (m - m.min()) / (m.max() - m.min() + 1e-9)
        if i % 3 == 0:
            m[rng.random((h, w)) < 0.05] = np.nan  # NaN -> 0
        gt = random_gt(rng, h, w)
        thr = official_thresholds(STEPS[i % len(STEPS)])
        assert_same(m, gt, thr, normalize=False)
        assert_same(m.astype(np.float32), gt, thr, normalize=False)
        assert_same(m.astype(np.float32), gt, thr)
        assert_same(m > 0.5, gt, thr)  # bool map
        assert_same((np.nan_to_num(m) * 9).astype(np.int64), gt, thr)
        assert_same(m[None, None], gt, thr)  # leading 1-dims


@needs_sweep
def test_sweep_odd_thresholds():
    rng = np.random.default_rng(5)
    thr = np.array([-1.0, -0.5, 0.0, 0.004, 0.5, 0.5, 0.999, 1.0, 1.5, 0.3])
    for m in family_maps('cam', rng, 5) + family_maps('holes', rng, 5):
        assert_same(m, random_gt(rng, *m.shape), thr)
    assert_same(rng.random((6, 6)), [[0, 0, 3, 3]], np.zeros(0))


@needs_sweep
@pytest.mark.filterwarnings('ignore::RuntimeWarning')  # NaN -> int64 cast
def test_nan_and_huge_thresholds_follow_numpy():
    rng = np.random.default_rng(6)
    m = smooth(rng, 20, 30)
    assert_same(m, [[2, 3, 10, 12]], [np.nan, 0.5, 1e300, -1e300, 0.1])


@needs_sweep
@pytest.mark.parametrize('method', ['sweep', 'contours'])
def test_errors_are_the_same_for_both_methods(method):
    with pytest.raises(ValueError, match='x.png'):
        official_box_ious(
            np.zeros((5, 5)), [[0, 0, 7, 3]], [0.],
            name='x.png',
            method=method)
    with pytest.raises(ValueError, match='inf'):
        official_box_ious(
            np.full((5, 5), -np.inf), [[0, 0, 3, 3]], [0.], method=method)
    with pytest.raises(ValueError, match='outside'):
        official_box_ious(
            np.full((5, 5), 2.), [[0, 0, 3, 3]], [0.],
            normalize=False,
            method=method)
    with pytest.raises(ValueError, match='expected one non-empty'):
        official_box_ious(
            np.zeros((2, 3, 4)), [[0, 0, 1, 1]], [0.], method=method)
    with pytest.raises(ValueError, match='No ground-truth box'):
        official_box_ious(
            np.zeros((5, 5)), np.zeros((0, 4)), [0.], method=method)


def test_method_argument():
    m = np.random.default_rng(0).random((9, 9))
    with pytest.raises(ValueError, match='method'):
        official_box_ious(m, [[0, 0, 3, 3]], [0.], method='fast')
    ref = official_box_ious_reference(m, [[0, 0, 3, 3]], [0., .5])
    out = official_box_ious(m, [[0, 0, 3, 3]], [0., .5], method='contours')
    np.testing.assert_array_equal(ref, out)
    auto = official_box_ious(m, [[0, 0, 3, 3]], [0., .5])
    np.testing.assert_array_equal(ref, auto)


@needs_sweep
def test_extension_checks_its_buffers():
    from mmbas.evaluation.functional import _box_sweep
    u8 = np.zeros((4, 5), np.uint8)
    thr = np.zeros(3)
    gt = np.zeros((1, 4))
    v1, v2 = np.empty(3), np.empty(3)
    _box_sweep.box_ious(u8, 4, 5, thr, gt, v1, v2)
    with pytest.raises(ValueError, match='inconsistent'):
        _box_sweep.box_ious(u8, 5, 5, thr, gt, v1, v2)
    with pytest.raises(ValueError, match='inconsistent'):
        _box_sweep.box_ious(u8, 4, 5, thr, np.zeros((0, 4)), v1, v2)
    with pytest.raises(ValueError, match='inconsistent'):
        _box_sweep.box_ious(u8, 4, 5, thr, gt, v1, np.empty(2))
    with pytest.raises(ValueError, match='inconsistent'):
        _box_sweep.quantize(np.zeros(4), False, True, np.empty(3, np.uint8))


def test_metric_method_option():
    rng = np.random.default_rng(1)
    samples = [
        dict(
            pred_loc_map=smooth(rng, 30, 40),
            img_path=f'{i}.jpg',
            gt_bboxes=random_gt(rng, 30, 40)) for i in range(6)
    ]
    results = []
    for method in ('auto', 'contours'):
        metric = WSOLBoxMetric(step=0.05, method=method)
        metric.process({}, samples)
        results.append(metric.evaluate(len(samples)))
    assert results[0] == results[1]
    with pytest.raises(ValueError, match='method'):
        WSOLBoxMetric(method='fast')
