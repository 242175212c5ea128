# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np

from mmbas.evaluation.metrics import WSOLBoxMetric


def _samples(n=10):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        m = rng.random((12, 12)).repeat(3, 0).repeat(3, 1)
        out.append(
            dict(
                pred_loc_map=m,
                img_path=f'{i}.jpg',
                gt_bboxes=np.array([[2., 3., 20., 30.]])))
    return out


def test_nproc_pool_gives_identical_results():
    samples = _samples()
    ref = WSOLBoxMetric(step=0.05)
    pooled = WSOLBoxMetric(step=0.05, nproc=2)
    for i in range(0, len(samples), 3):
        ref.process({}, samples[i:i + 3])
        pooled.process({}, samples[i:i + 3])
    assert pooled._pool is not None
    assert ref.evaluate(len(samples)) == pooled.evaluate(len(samples))
    assert pooled._pool is None and pooled.results == []
