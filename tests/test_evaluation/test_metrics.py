"""mmengine metric classes: keys, registry, aggregation, errors."""
import numpy as np
import pytest
import torch

from mmbas.evaluation.functional import official_box_ious, official_thresholds
from mmbas.evaluation.metrics import (WSOLBoxMetric, WSOLMaskMetric,
                                      WSOLPaperMetric)


def make_samples(n=6, size=24, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = np.zeros((size, size), np.float32)
        y0, x0 = rng.integers(0, size // 2, 2)
        m[y0:y0 + 8, x0:x0 + 8] = 1.
        m += rng.random((size, size)).astype(np.float32) * 0.2
        gt = [[x0, y0, x0 + 7, y0 + 7]] if i % 2 else [[0, 0, 5, 5]]
        score = torch.zeros(10)
        score[i % 10] = 1.
        out.append(
            dict(
                img_path=f'img_{i}.jpg',
                pred_loc_map=dict(data=torch.from_numpy(m)[None]),
                gt_bboxes=torch.tensor(gt, dtype=torch.float32),
                gt_label=torch.tensor([i % 3]),
                pred_score=score,
                gt_mask=torch.from_numpy(m > 0.5),
            ))
    return out


def test_registry():
    from mmseg.registry import METRICS
    for name in ('WSOLBoxMetric', 'WSOLMaskMetric', 'WSOLPaperMetric'):
        assert METRICS.get(name) is not None
    metric = METRICS.build(dict(type='WSOLBoxMetric', step=0.1))
    assert len(metric.thresholds) == 10


def test_box_metric_matches_functional():
    samples = make_samples()
    metric = WSOLBoxMetric(step=0.05)
    metric.process({}, samples[:3])
    metric.process({}, samples[3:])
    res = metric.evaluate(len(samples))
    thr = official_thresholds(0.05)
    v1 = np.stack([
        official_box_ious(s['pred_loc_map']['data'][0].numpy(),
                          s['gt_bboxes'].numpy(), thr)[0] for s in samples
    ])
    curve = (v1 >= 0.5).mean(0) * 100
    assert res['MaxBoxAcc'] == curve.max()
    assert res['MaxBoxAcc_threshold'] == thr[int(np.argmax(curve))]
    assert res['MaxBoxAccV2'] == pytest.approx(
        np.mean([res[f'MaxBoxAccV2_IoU{d}'] for d in (30, 50, 70)]))
    for key in ('MaxBoxAccV2_IoU30_threshold', 'MaxBoxAccV2_IoU70_threshold'):
        assert key in res
    assert all(isinstance(v, float) for v in res.values())


def test_paper_metric_keys():
    samples = make_samples()
    metric = WSOLPaperMetric(thresholds=[0.2, 0.5])
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    for key in ('gt_known_loc', 'top1_loc', 'top5_loc', 'iou30', 'iou50',
                'iou70', 'best_threshold', 'top1_cls', 'top5_cls',
                'gt_known_loc@0.2', 'top1_loc@0.5'):
        assert key in res
    assert res['gt_known_loc'] == 50.0  # odd images have the right GT
    assert res['top1_loc'] <= res['top5_loc'] <= res['gt_known_loc']
    # without pred_score the class-aware keys are omitted
    for s in samples:
        s.pop('pred_score')
    metric = WSOLPaperMetric(thresholds=[0.2, 0.5], fixed_threshold=0.5)
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    assert 'top1_loc' not in res and res['best_threshold'] == 0.5
    with pytest.raises(ValueError):
        WSOLPaperMetric(thresholds=[0.2], fixed_threshold=0.3)


def test_mask_metric():
    samples = make_samples()
    metric = WSOLMaskMetric(step=0.01)
    metric.process({}, samples)
    assert metric.results[0]['pos_hist'].dtype == np.uint16
    res = metric.evaluate(len(samples))
    assert set(res) == {'PxAP', 'PIoU', 'PIoU_threshold'}
    assert res['PxAP'] > 90 and res['PIoU'] == 100.0


def test_errors_name_the_image():
    s = make_samples(1)[0]
    s['gt_bboxes'] = torch.tensor([[0., 0., 30., 5.]])
    with pytest.raises(ValueError, match='img_0.jpg'):
        WSOLBoxMetric().process({}, [s])
    s = make_samples(1)[0]
    s['gt_mask'] = torch.zeros(5, 5, dtype=torch.bool)
    with pytest.raises(ValueError, match='img_0.jpg'):
        WSOLMaskMetric().process({}, [s])
    s = make_samples(1)[0]
    del s['pred_loc_map']
    with pytest.raises(ValueError, match="img_0.jpg.*pred_loc_map"):
        WSOLPaperMetric().process({}, [s])
