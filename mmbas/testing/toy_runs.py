# Copyright (c) mmbas contributors. All rights reserved.
"""Helpers for tool runs on the toy layouts: config options that point the
dataloaders at a toy root, and the mIoU of trivial label maps (the
baselines the toy experiments are compared with)."""
from typing import Callable, Iterable, List, Sequence, Tuple

import numpy as np

from mmbas.evaluation.metrics.seed_sweep_metric import SeedSweepMetric

#: the dataloaders of a train / val / test config
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def data_root_options(data_root: str,
                      loaders: Sequence[str] = LOADERS) -> List[str]:
    """``--cfg-options`` entries ``<loader>.dataset.data_root=<data_root>``
    for each of ``loaders``."""
    return [f'{loader}.dataset.data_root={data_root}' for loader in loaders]


def label_map_miou(gts: Iterable[np.ndarray], predict: Callable[[np.ndarray],
                                                                np.ndarray],
                   num_classes: int) -> Tuple[float, np.ndarray]:
    """mIoU (percent) and per-class IoU of ``predict(gt)`` against each GT
    label map, with mmseg IoUMetric's semantics: pixels labelled 255 are
    ignored, the confusion is summed over the images, and classes whose union
    is empty are NaN and left out of the mean.

    Args:
        gts: (H, W) integer label maps, values 0..num_classes - 1 and 255.
        predict: gt (H, W) -> predicted (H, W) labels in 0..num_classes - 1.
        num_classes (int): classes of the label space, background included.

    Returns:
        tuple[float, np.ndarray]: mIoU in percent and the (num_classes,)
        IoUs.
    """
    k = num_classes
    conf = np.zeros((k, k), np.int64)
    for gt in gts:
        valid = gt != 255
        pred = np.asarray(predict(gt))[valid].astype(np.int64)
        conf += np.bincount(
            gt[valid].astype(np.int64) * k + pred,
            minlength=k * k).reshape(k, k)
    iou = SeedSweepMetric.iou_from_confusion(conf)
    with np.errstate(invalid='ignore'):
        return float(np.nanmean(iou) * 100), iou


def all_background_miou(gts: Iterable[np.ndarray], num_classes: int) -> float:
    """:func:`label_map_miou` of predicting background everywhere."""
    return label_map_miou(gts, lambda gt: np.zeros(gt.shape, np.int64),
                          num_classes)[0]
