# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest

from mmbas.pseudo import crf_available, make_relation_labels
from mmbas.pseudo import relation_labels as rl_module

needs_crf = pytest.mark.skipif(
    not crf_available(), reason='pydensecrf2 missing')


def _row_maps():
    """Two maps (classes 2 and 5) over one row of 6 pixels, 2 rows."""
    a = [0.9, 0.25, 0.1, 0.0, 0.0, 0.30]
    b = [0.0, 0.0, 0.2, 0.35, 0.1, 0.0]
    maps = np.array([[a, a], [b, b]], np.float32)  # (2, 2, 6)
    return maps


def test_thresholds_without_crf():
    maps = _row_maps()
    img = np.zeros((2, 6, 3), np.uint8)
    out = make_relation_labels(img, maps, [2, 5], use_crf=False)
    # by hand, per pixel: argmax over [0.30, a, b] / [0.17, a, b]
    # px0 a=.9: fg 3, bg 3 -> 3        px1 a=.25: fg 0, bg 3 -> 255
    # px2 b=.2: fg 0, bg 6 -> 255      px3 b=.35: fg 6, bg 6 -> 6
    # px4 all <= .17: 0, 0 -> 0        px5 a=.30 ties the fg score, which
    # wins (background first): fg 0, bg 3 -> 255
    expected = np.array([3, 255, 255, 6, 0, 255], np.uint8)
    assert out.dtype == np.uint8 and out.shape == (2, 6)
    np.testing.assert_array_equal(out, np.stack([expected, expected]))
    # other thresholds
    out = make_relation_labels(
        img, maps, [2, 5], fg_thr=0.2, bg_thr=0.05, use_crf=False)
    # px1 a=.25 > .2 -> 3; px2 b=.2 ties .2 -> fg 0, bg 6 -> 255
    # px4 b=.1 > .05 -> fg 0, bg 6 -> 255; px5 .30 -> 3
    np.testing.assert_array_equal(out[0], [3, 3, 255, 6, 255, 3])


def test_no_classes_is_background():
    img = np.zeros((3, 4, 3), np.uint8)
    out = make_relation_labels(img, np.zeros((0, 3, 4)), [])
    np.testing.assert_array_equal(out, np.zeros((3, 4), np.uint8))


def test_combination_rule_after_crf(monkeypatch):
    """The CRF may move the two threshold maps apart; the reference keeps the
    foreground-threshold class then.

    A stand-in CRF returns chosen marginals so that every case of the rule is
    hand-checked.
    """
    # index maps after the (fake) CRF, per pixel; indices: 0 bg, 1 class 2,
    # 2 class 5 (label values 0, 3, 6)
    fg_idx = np.array([[1, 1, 2, 0, 0]])
    bg_idx = np.array([[1, 0, 1, 0, 2]])
    calls = []

    def fake_crf(image, labels=None, n_labels=None, **kwargs):
        calls.append((labels.copy(), n_labels, kwargs))
        chosen = fg_idx if len(calls) == 1 else bg_idx
        return np.eye(n_labels, dtype=np.float32)[chosen].transpose(2, 0, 1)

    monkeypatch.setattr(rl_module, 'dense_crf', fake_crf)
    img = np.zeros((1, 5, 3), np.uint8)
    maps = np.array([[[0.9, 0.2, 0.1, 0.1, 0.0]], [[0.0, 0.1, 0.2, 0.1, 0.0]]],
                    np.float32)
    out = make_relation_labels(img, maps, [2, 5], crf_cfg=dict(t=3))
    # px0 both class 2 -> 3; px1 fg class 2, bg background -> 3 (fg wins);
    # px2 fg class 5, bg class 2 -> 6; px3 both bg -> 0; px4 fg bg, bg
    # class 5 -> 255
    np.testing.assert_array_equal(out, [[3, 3, 6, 0, 255]])
    # the CRF saw the thresholded index maps, 3 labels, the overrides
    np.testing.assert_array_equal(calls[0][0], [[1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(calls[1][0], [[1, 1, 2, 0, 0]])
    assert calls[0][1] == calls[1][1] == 3
    assert calls[0][2] == dict(t=3)


@pytest.mark.parametrize('bad, match', [
    (dict(image=np.zeros((4, 4), np.uint8)), 'image must be'),
    (dict(image=np.zeros((4, 4, 3), np.float32)), 'image must be'),
    (dict(seed_maps=np.zeros((1, 3, 4))), 'seed_maps must be'),
    (dict(class_ids=[1, 2]), 'one id per map'),
    (dict(class_ids=[-1]), '0-based'),
    (dict(class_ids=[254]), '0-based'),
    (dict(fg_thr=0.1, bg_thr=0.2), 'bg_thr <= fg_thr'),
])
def test_bad_inputs(bad, match):
    args = dict(
        image=np.zeros((4, 4, 3), np.uint8),
        seed_maps=np.zeros((1, 4, 4)),
        class_ids=[0],
        use_crf=False)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        make_relation_labels(**args)
    with pytest.raises(ValueError, match='repeat'):
        make_relation_labels(
            np.zeros((4, 4, 3), np.uint8), np.zeros((2, 4, 4)), [3, 3])


@needs_crf
def test_crf_snaps_to_the_image_edge():
    """Black left half, white right half; the seed of class 0 covers the white
    half shifted 3 px to the left.

    The CRF moves the label to the edge; both thresholds agree (maps are 0 /
    1), so nothing is ignored.
    """
    img = np.zeros((24, 40, 3), np.uint8)
    img[:, 20:] = 255
    maps = np.zeros((1, 24, 40), np.float32)
    maps[0, :, 17:] = 1.0
    out = make_relation_labels(img, maps, [0])
    assert set(np.unique(out).tolist()) == {0, 1}
    assert (out[:, 20:] == 1).all() and (out[:, :17] == 0).all()
    # without the CRF the shifted seed is kept as it is
    raw = make_relation_labels(img, maps, [0], use_crf=False)
    assert (raw[:, 17:20] == 1).all()


@needs_crf
def test_crf_uncertain_band_is_ignored():
    """Three vertical bands: black (map 0), gray (map 0.25, between the
    thresholds) and white (map 0.9). After the CRF: background, ignore,
    class 7 + 1."""
    img = np.zeros((24, 60, 3), np.uint8)
    img[:, 20:40] = 128
    img[:, 40:] = 255
    maps = np.zeros((1, 24, 60), np.float32)
    maps[0, :, 20:40] = 0.25
    maps[0, :, 40:] = 0.9
    out = make_relation_labels(img, maps, [7])
    assert (out[:, 2:18] == 0).all()
    assert (out[:, 22:38] == 255).all()
    assert (out[:, 42:] == 8).all()
