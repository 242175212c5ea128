# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.evaluation.metrics import SeedSweepMetric

CLASSES = ('background', 'a', 'b', 'c')


def _samples(seed=0, n=4, size=(23, 31)):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        maps = torch.rand((3, ) + size, generator=g)
        maps[torch.rand(3, generator=g) < 0.3] = 0  # absent classes
        maps[:, :3, :3] = 0.25  # exact ties with a threshold
        gt = torch.randint(0, 4, (1, ) + size, generator=g)
        gt[torch.rand((1, ) + size, generator=g) < 0.1] = 255
        out.append(dict(loc_maps=maps, gt_sem_seg=dict(data=gt)))
    return out


def _iou_metric(samples, t):
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    dss = []
    for s in samples:
        logits = torch.cat(
            [torch.full_like(s['loc_maps'][:1], t), s['loc_maps']])
        ds = SegDataSample()
        ds.gt_sem_seg = PixelData(data=s['gt_sem_seg']['data'])
        ds.pred_sem_seg = PixelData(data=logits.argmax(0, keepdim=True))
        dss.append(ds.to_dict())
    metric.process({}, dss)
    return metric.compute_metrics(metric.results)


def test_sweep_equals_iou_metric():
    samples = _samples()
    thr = [0.1, 0.25, 0.3, 0.5, 0.7]
    metric = SeedSweepMetric(thresholds=thr)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    assert len(metric.results) == 1  # one running histogram
    res = metric.compute_metrics(metric.results)
    for t in thr:
        ref = _iou_metric(samples, t)
        assert res[f'mIoU@{t:.2f}'] == pytest.approx(ref['mIoU'], abs=1e-6)
    best = max(thr, key=lambda t: _iou_metric(samples, t)['mIoU'])
    assert res['best_threshold'] == pytest.approx(best)
    assert res['mIoU'] == max(res[f'mIoU@{t:.2f}'] for t in thr)


def test_confusion_exact_and_default_thresholds():
    samples = _samples(seed=3, n=2)
    metric = SeedSweepMetric()
    assert len(metric.thresholds) == 25
    assert metric.thresholds[0] == pytest.approx(0.2)
    assert metric.thresholds[-1] == pytest.approx(0.44)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    conf = SeedSweepMetric.confusions(metric.results[0])
    for k in (0, 5, 24):
        t = np.float32(metric.thresholds[k])
        ref = np.zeros((4, 4), np.int64)
        for s in samples:
            logits = torch.cat(
                [torch.full_like(s['loc_maps'][:1], float(t)), s['loc_maps']])
            p = logits.argmax(0).numpy().ravel()
            g = s['gt_sem_seg']['data'].numpy().ravel()
            v = g != 255
            np.add.at(ref, (g[v], p[v]), 1)
        np.testing.assert_array_equal(conf[k], ref)


def test_picks_best_threshold():
    # gt foreground exactly where the map > 0.33
    g = torch.Generator().manual_seed(1)
    maps = torch.rand(1, 40, 40, generator=g)
    maps = torch.cat([maps, torch.zeros(2, 40, 40)])
    gt = (maps[0] > 0.33).long()[None]
    metric = SeedSweepMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [dict(loc_maps=maps, gt_sem_seg=dict(data=gt))])
    res = metric.compute_metrics(metric.results)
    assert res['best_threshold'] == pytest.approx(0.33)
    assert res['mIoU'] == 100.0


def test_errors():
    metric = SeedSweepMetric(thresholds=[0.3])
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(ValueError, match='foreground classes'):
        metric.process({}, [
            dict(
                loc_maps=torch.zeros(5, 4, 4),
                gt_sem_seg=dict(data=torch.zeros(1, 4, 4)))
        ])
    with pytest.raises(ValueError, match='increasing'):
        SeedSweepMetric(thresholds=[0.3, 0.2])


def _reference_class_iou(samples, t):
    """Per-class IoU (percent, nan for an empty union) of the label maps
    ``argmax([t, maps])``, counted pixel by pixel."""
    conf = np.zeros((4, 4), np.int64)
    for s in samples:
        logits = torch.cat(
            [torch.full_like(s['loc_maps'][:1], float(t)), s['loc_maps']])
        p = logits.argmax(0).numpy().ravel()
        g = s['gt_sem_seg']['data'].numpy().ravel()
        v = g != 255
        np.add.at(conf, (g[v], p[v]), 1)
    inter = np.diag(conf).astype(float)
    with np.errstate(invalid='ignore'):
        return 100 * inter / (conf.sum(0) + conf.sum(1) - inter)


def test_per_class_iou_at_best_threshold():
    samples = _samples(seed=5)
    thr = [0.1, 0.25, 0.3, 0.5, 0.7]
    metric = SeedSweepMetric(thresholds=thr, prefix='sweep')
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    res = metric.evaluate(len(samples))  # prefixed, as tools/test.py dumps
    ref = _reference_class_iou(samples, res['sweep/best_threshold'])
    assert [k for k in res if k.startswith('sweep/IoU.')
            ] == [f'sweep/IoU.{c}' for c in CLASSES]
    for c, v in zip(CLASSES, ref):
        assert res[f'sweep/IoU.{c}'] == pytest.approx(v, abs=0.005)
    # mIoU is their mean (up to the 2-decimal rounding of each)
    mean = np.mean([res[f'sweep/IoU.{c}'] for c in CLASSES])
    assert res['sweep/mIoU'] == pytest.approx(mean, abs=0.01)
    # the best threshold (0.5 here) is not the first one, whose class IoUs
    # differ: the keys are those of the best threshold
    assert res['sweep/best_threshold'] == 0.5
    assert not np.allclose(ref, _reference_class_iou(samples, thr[0]))


def test_per_class_iou_leaves_out_empty_classes():
    # class 'c' neither in the gt nor predicted: no IoU key (mmseg: nan)
    maps = torch.zeros(3, 8, 8)
    maps[0, :4] = 0.9
    gt = torch.zeros(1, 8, 8, dtype=torch.long)
    gt[0, :4] = 1
    gt[0, 4:, :4] = 2  # 'b' missed: IoU 0
    metric = SeedSweepMetric(thresholds=[0.5])
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [dict(loc_maps=maps, gt_sem_seg=dict(data=gt))])
    res = metric.compute_metrics(metric.results)
    assert res['IoU.a'] == 100.0
    assert res['IoU.b'] == 0.0
    assert res['IoU.background'] == pytest.approx(100 * 16 / 32)
    assert 'IoU.c' not in res
