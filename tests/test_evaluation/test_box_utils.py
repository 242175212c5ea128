import numpy as np
import pytest

from mmbas.evaluation.functional import (pairwise_iou_inclusive,
                                         validate_gt_boxes)


def test_iou_plus_one_convention():
    # 4x3 pixels vs 5x4 pixels, sharing 4x3 pixels -> 12 / 20
    iou = pairwise_iou_inclusive([[3, 2, 6, 4]], [[3, 2, 7, 5]])
    assert iou.shape == (1, 1)
    assert iou[0, 0] == 12 / 20


def test_iou_degenerate_and_disjoint():
    # zero-width box in exclusive terms is one pixel column here
    assert pairwise_iou_inclusive([[5, 5, 5, 5]], [[5, 5, 6, 6]])[0, 0] == \
        1 / 4
    assert pairwise_iou_inclusive([[0, 0, 1, 1]], [[3, 3, 4, 4]])[0, 0] == 0
    # touching edges overlap by one pixel column under +1 convention
    assert pairwise_iou_inclusive([[0, 0, 2, 0]], [[2, 0, 4, 0]])[0, 0] == \
        1 / 5


def test_iou_matrix_multiple_gt():
    iou = pairwise_iou_inclusive([[0, 0, 1, 1], [2, 2, 3, 3]],
                                 [[0, 0, 1, 1], [2, 2, 3, 3], [0, 0, 3, 3]])
    np.testing.assert_array_equal(iou, [[1, 0, 4 / 16], [0, 1, 4 / 16]])


def test_validate_gt_boxes_ok_border():
    out = validate_gt_boxes([0, 0, 10, 8], height=8, width=10)
    assert out.shape == (1, 4)
    validate_gt_boxes([[0, 0, 9, 7], [3, 3, 3, 3]], 8, 10)


@pytest.mark.parametrize('box,msg', [
    ([[-1, 0, 3, 3]], 'outside'),
    ([[0, 0, 11, 3]], 'outside'),
    ([[0, 0, 3, 9]], 'outside'),
    ([[4, 0, 3, 3]], 'negative width'),
    ([[0, 0, np.nan, 3]], 'NaN'),
    (np.zeros((0, 4)), 'No ground-truth box'),
    ([[0, 0, 3]], 'shape'),
])
def test_validate_gt_boxes_errors(box, msg):
    with pytest.raises(ValueError, match=msg) as err:
        validate_gt_boxes(box, 8, 10, name='img_07.jpg')
    assert 'img_07.jpg' in str(err.value)
