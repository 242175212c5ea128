# Copyright (c) mmbas contributors. All rights reserved.
"""Seed mIoU at every background threshold from one inference pass."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS


def default_thresholds() -> np.ndarray:
    """BAS's sweep: 0.20, 0.21, ..., 0.44."""
    return np.round(np.arange(0.20, 0.445, 0.01), 6)


@METRICS.register_module()
class SeedSweepMetric(BaseMetric):
    """mIoU of WSSS seeds for a sweep of background thresholds.

    Reads ``loc_maps`` (C, H, W) of each sample (normalised class maps,
    zero for absent classes, as :class:`SeedInferencer` and the WSSS
    ``predict`` produce; falls back to ``seg_logits[1:]``) and
    ``gt_sem_seg`` (0 background, 1..C classes, ``ignore_index`` ignored).

    Label rule = ``argmax([t, maps])`` with ties to the lower index (torch /
    numpy argmax): per pixel let m = max over classes, c = 1 + first argmax;
    the pixel is class c iff ``m > t`` (strictly), background otherwise —
    identical to ``pred_sem_seg`` of a model run with ``bg_threshold=t``.
    Comparisons are done in float32 (the dtype of ``seg_logits``).

    Vectorised and memory bounded: per image ONE ``bincount`` over (gt, c,
    bin(m)) where bin(m) = number of thresholds < m, added to a single
    running (C+1, C+1, T+1) int64 histogram (whole maps are never stored).
    The confusion matrix at threshold k is then: predicted c for bins > k
    (reverse cumulative sum), background for bins <= k.

    Returns ``mIoU`` (best over thresholds, percent, 2 decimals as mmseg's
    ``IoUMetric``), ``best_threshold``, ``aAcc`` at the best threshold,
    ``mIoU@<t>`` (e.g. ``mIoU@0.25``) for each threshold and
    ``IoU.<class>`` (e.g. ``IoU.background``), the per-class IoU at the
    best threshold for each class (of ``dataset_meta['classes']``) with a
    non-empty union, in class order; these land in the metrics json of
    ``tools/test.py`` with the prefix, e.g. ``sweep/IoU.person``. Also logs
    a table of the sweep and the per-class IoU. mIoU is the nan-mean over
    classes with a non-empty union (mmseg's convention).

    Args:
        thresholds (Sequence[float], optional): Background thresholds.
            Defaults to ``np.arange(0.20, 0.445, 0.01)``.
        ignore_index (int): Defaults to 255.
        collect_device (str): 'cpu' or 'gpu'.
        collect_dir (str, optional): Shared folder of the per-rank parts
            with ``collect_device='cpu'`` (mmengine's ``BaseMetric``);
            default: a temp folder rank 0 broadcasts.
        prefix (str, optional): Metric name prefix.
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        thr = default_thresholds() if thresholds is None else np.asarray(
            thresholds, dtype=np.float64).reshape(-1)
        if thr.size == 0:
            raise ValueError('thresholds must not be empty')
        if (np.diff(thr) <= 0).any():
            raise ValueError('thresholds must be strictly increasing')
        self.thresholds = thr
        self.ignore_index = ignore_index

    # ------------------------------------------------------------------
    def image_histogram(self, maps: torch.Tensor, gt: torch.Tensor,
                        num_classes: int) -> torch.Tensor:
        """(K+1, K+1, T+1) histogram of one image, K = num fg classes.

        Args:
            maps (Tensor): (K, H, W) class maps.
            gt (Tensor): (H, W) labels in [0, K] or ignore_index.
            num_classes (int): K + 1 (background included).
        """
        k1 = num_classes
        nt = len(self.thresholds)
        maps = maps.float()
        if maps.shape[0] != k1 - 1:
            raise ValueError(f'loc_maps have {maps.shape[0]} classes, the '
                             f'dataset has {k1 - 1} foreground classes')
        if maps.shape[-2:] != gt.shape[-2:]:
            raise ValueError(f'maps {tuple(maps.shape)} and gt '
                             f'{tuple(gt.shape)} differ in size')
        m, c = maps.max(0)  # first max on ties
        gt = gt.to(maps.device).long()
        valid = gt != self.ignore_index
        thr = torch.as_tensor(
            self.thresholds, dtype=torch.float32, device=maps.device)
        b = torch.searchsorted(thr, m[valid].contiguous(), right=False)
        g = gt[valid]
        if g.numel() and (g.min() < 0 or g.max() >= k1):
            raise ValueError(f'gt_sem_seg values {g.unique().tolist()} '
                             f'outside [0, {k1}) and != ignore_index')
        idx = (g * k1 + c[valid] + 1) * (nt + 1) + b
        h = torch.bincount(idx, minlength=k1 * k1 * (nt + 1))
        return h.view(k1, k1, nt + 1)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Add the histograms of a batch to the running histogram."""
        num_classes = len(self.dataset_meta['classes'])
        for ds in data_samples:
            if 'loc_maps' in ds:
                maps = ds['loc_maps']
            elif 'seg_logits' in ds:
                maps = ds['seg_logits']['data'][1:]
            else:
                raise KeyError('SeedSweepMetric needs loc_maps or seg_logits'
                               f' in the predictions of {ds.get("img_path")}')
            gt = ds['gt_sem_seg']['data'].squeeze(0)
            h = self.image_histogram(
                torch.as_tensor(maps), torch.as_tensor(gt),
                num_classes).cpu().numpy()
            if not self.results:
                self.results.append(np.zeros_like(h, dtype=np.int64))
            self.results[0] += h

    # ------------------------------------------------------------------
    @staticmethod
    def confusions(hist: np.ndarray) -> np.ndarray:
        """(T, K+1, K+1) confusion matrices [gt, pred] from the histogram."""
        above = np.flip(np.cumsum(np.flip(hist, 2), 2), 2)  # bins >= j
        nt = hist.shape[2] - 1
        conf = above[:, :, 1:].transpose(2, 0, 1).copy()  # bins > k
        below = hist.sum((1, 2))[:, None] - conf.sum(2).T  # (K+1, T)
        conf[:, :, 0] = below.T
        assert conf.shape[0] == nt
        return conf

    @staticmethod
    def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
        """Per-class IoU (NaN where the union is empty), (..., K+1)."""
        inter = np.diagonal(conf, axis1=-2, axis2=-1).astype(np.float64)
        union = conf.sum(-1) + conf.sum(-2) - inter
        with np.errstate(invalid='ignore', divide='ignore'):
            return inter / union

    def compute_metrics(self, results: list) -> Dict[str, float]:
        hist = np.sum(results, axis=0)
        conf = self.confusions(hist)
        iou = self.iou_from_confusion(conf)  # (T, K+1)
        with np.errstate(invalid='ignore'):
            miou = np.nanmean(iou, axis=1)
        total = conf.sum((1, 2))
        aacc = np.trace(conf, axis1=1, axis2=2) / np.maximum(total, 1)
        best = int(np.nanargmax(miou)) if np.isfinite(miou).any() else 0
        out = OrderedDict()
        out['mIoU'] = float(np.round(miou[best] * 100, 2))
        out['best_threshold'] = float(np.round(self.thresholds[best], 6))
        out['aAcc'] = float(np.round(aacc[best] * 100, 2))
        for t, v in zip(self.thresholds, miou):
            out[f'mIoU@{t:.2f}'] = float(np.round(v * 100, 2))
        for name, v in zip(self._class_names(iou.shape[1]), iou[best]):
            if np.isfinite(v):
                out[f'IoU.{name}'] = float(np.round(v * 100, 2))
        self._log(miou, aacc, iou[best], best)
        return out

    def _class_names(self, num_classes: int) -> Sequence[str]:
        """``dataset_meta['classes']``, else ``'0'``, ``'1'``, ..."""
        return (self.dataset_meta
                or {}).get('classes') or [str(i) for i in range(num_classes)]

    def _log(self, miou, aacc, best_iou, best) -> None:
        lines = [
            'background-threshold sweep (seed mIoU %):',
            f'{"thr":>6} {"mIoU":>7} {"aAcc":>7}'
        ]
        for k, t in enumerate(self.thresholds):
            mark = '  <- best' if k == best else ''
            lines.append(f'{t:6.2f} {miou[k] * 100:7.2f} '
                         f'{aacc[k] * 100:7.2f}{mark}')
        classes = self._class_names(len(best_iou))
        lines.append(f'per-class IoU at threshold '
                     f'{self.thresholds[best]:.2f}:')
        for name, v in zip(classes, best_iou):
            lines.append(f'  {name:<16} {v * 100:6.2f}')
        print_log('\n'.join(lines), logger='current')
