# Copyright (c) mmbas contributors. All rights reserved.
"""``mmbas.testing.toy_runs``: config options of the toy runs and the mIoU of
trivial label maps, checked by hand."""
import numpy as np
import pytest

from mmbas.testing import (all_background_miou, data_root_options,
                           label_map_miou)


def test_data_root_options():
    assert data_root_options('/d') == [
        'train_dataloader.dataset.data_root=/d',
        'val_dataloader.dataset.data_root=/d',
        'test_dataloader.dataset.data_root=/d'
    ]
    assert data_root_options('/d', ('test_dataloader', )) == [
        'test_dataloader.dataset.data_root=/d'
    ]


def test_label_map_miou_by_hand():
    # 3 classes; class 2 never occurs in GT or prediction -> NaN, left out
    gt_a = np.array([[0, 0, 1], [1, 255, 1]], np.uint8)
    gt_b = np.array([[1, 1], [0, 255]], np.uint8)
    pred_a = np.array([[0, 1, 1], [0, 0, 1]])
    pred_b = np.array([[1, 0], [0, 0]])
    preds = {id(gt_a): pred_a, id(gt_b): pred_b}
    miou, iou = label_map_miou([gt_a, gt_b], lambda g: preds[id(g)], 3)
    # valid (gt, pred) pairs: a: (0,0) (0,1) (1,1) (1,0) (1,1);
    #                         b: (1,1) (1,0) (0,0)
    # class 0: inter 1 + 1 = 2; gt 0: 2 + 1 = 3; pred 0: 2 + 2 = 4
    #          -> union 3 + 4 - 2 = 5
    # class 1: inter 2 + 1 = 3; gt 1: 3 + 2 = 5; pred 1: 3 + 1 = 4
    #          -> union 5 + 4 - 3 = 6
    np.testing.assert_allclose(iou[:2], [2 / 5, 3 / 6])
    assert np.isnan(iou[2])
    assert miou == pytest.approx((2 / 5 + 3 / 6) / 2 * 100)


def test_all_background_miou_by_hand():
    gt = np.array([[0, 0, 1, 255]], np.uint8)
    # class 0: inter 2, union 3; class 1: inter 0, union 1; class 2 empty
    assert all_background_miou([gt], 3) == pytest.approx((2 / 3) / 2 * 100)
