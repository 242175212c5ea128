# Copyright (c) mmbas contributors. All rights reserved.
"""One box validator (validate_gt_boxes) for metrics, datasets and
LoadWSOLAnnotations, on hand-checked boxes in an 8x6 (WxH) image."""
import numpy as np
import pytest

from mmbas.datasets.transforms import LoadWSOLAnnotations
from mmbas.evaluation.functional import validate_gt_boxes

W, H = 8, 6

# (boxes, tolerance, error pattern or the expected clipped boxes)
CASES = [
    # on the border, x1 == W and y1 == H: fine with no tolerance
    ([[0, 0, 8, 6]], 0, [[0, 0, 8, 6]]),
    # one pixel wide (x0 == x1) is a box, not an error
    ([[3, 3, 3, 3]], 0, [[3, 3, 3, 3]]),
    # x0 = -1: outside with no tolerance, clipped to 0 with 1 px
    ([[-1, 0, 3, 3]], 0, r'box \[-1.0, 0.0, 3.0, 3.0\] outside the image '
     r'\(8x6 WxH\)'),
    ([[-1, 0, 3, 3]], 1, [[0, 0, 3, 3]]),
    # x1 = 9.5 > W + 1: outside even with 1 px
    ([[0, 0, 9.5, 3]], 1, r'outside the image \(8x6 WxH, 1 px allowed\)'),
    # y1 = 7 > H: outside; the second (bad) box is the one quoted
    ([[0, 0, 2, 2], [0, 0, 2, 7]], 0, r'box \[0.0, 0.0, 2.0, 7.0\] outside'),
    # x1 < x0 / y1 < y0 (an xywh box read as xyxy)
    ([[4, 0, 3, 3]], 1, r'negative width or height: \[4.0, 0.0, 3.0, '
     r'3.0\]'),
    ([[0, 3, 2, 2]], 1, 'negative width or height'),
    ([[0, 0, np.nan, 3]], 1, 'NaN/inf'),
    ([[0, 0, np.inf, 3]], 1, 'NaN/inf'),
    ([[0, 0, 3]], 1, r'shape \(1, 3\); expected \(N, 4\)'),
]


@pytest.mark.parametrize('boxes,tol,expect', CASES)
def test_validator(boxes, tol, expect):
    kw = dict(frame='image', tolerance=tol, clip=True, where='image x.jpg')
    if isinstance(expect, str):
        with pytest.raises(ValueError, match=expect) as err:
            validate_gt_boxes(boxes, H, W, **kw)
        assert 'image x.jpg' in str(err.value)
    else:
        out = validate_gt_boxes(boxes, H, W, **kw)
        np.testing.assert_array_equal(out, expect)
        assert out.dtype == np.float64


@pytest.mark.parametrize('boxes,tol,expect', CASES)
def test_loading_transform_uses_it(boxes, tol, expect):
    """LoadWSOLAnnotations gives the validator's verdict and message."""
    t = LoadWSOLAnnotations(box_tolerance=tol)
    sample = dict(
        img=np.zeros((H, W, 3), np.uint8),
        img_path='x.jpg',
        gt_bboxes=np.array(boxes, np.float32))
    if isinstance(expect, str):
        with pytest.raises(ValueError, match=expect) as err:
            t(sample)
        assert 'image x.jpg' in str(err.value)
    else:
        out = t(sample)['gt_bboxes']
        np.testing.assert_array_equal(out, expect)
        assert out.dtype == np.float32


def test_empty_and_unknown_size():
    # metrics need a box; datasets and transforms may have none
    with pytest.raises(
            ValueError, match="No ground-truth box for image "
            "'a.jpg'"):
        validate_gt_boxes(np.zeros((0, 4)), H, W, name='a.jpg')
    assert validate_gt_boxes([], H, W, allow_empty=True).shape == (0, 4)
    # no size: only the shape / finiteness / order checks
    out = validate_gt_boxes([[0, 0, 100, 100]], dtype=np.float32)
    assert out.dtype == np.float32 and out.tolist() == [[0, 0, 100, 100]]
    with pytest.raises(ValueError, match='negative width'):
        validate_gt_boxes([[5, 0, 1, 1]])
    # default frame and hint are the localization map's
    with pytest.raises(
            ValueError,
            match='outside the localization map .*'
            'Transform the boxes into the frame of the map'):
        validate_gt_boxes([[0, 0, 9, 1]], H, W)
