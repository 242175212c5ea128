# Copyright (c) mmbas contributors. All rights reserved.
"""projects/toy_bas_vs_cam: every config the script runs resolves and loads
(the project's own and the shared configs/toy ones), and the seed table's per-
class IoU comes from SeedSweepMetric's keys of the metrics json."""
import importlib.util
import os.path as osp

import pytest

from mmbas.apis.stages import load_stage_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'projects', 'toy_bas_vs_cam', 'toy_bas_vs_cam.py')
_spec = importlib.util.spec_from_file_location('toy_bas_vs_cam', SCRIPT)
toy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy)


@pytest.mark.parametrize('dataset', ['voc', 'coco'])
def test_every_config_of_the_script_loads(dataset):
    args = toy.argparse.Namespace(dataset=dataset)
    expected = dict(bas='BAS', cam='CAM')
    for kind, model in expected.items():
        cfg = load_stage_config(toy.cfg(args, kind))
        assert cfg.model.type == model
    for kind in ('bas', 'cam', 'bas_cam'):
        path = toy.seed_cfg(args, kind)
        assert path.startswith(osp.join(ROOT, 'projects'))
        cfg = load_stage_config(path)
        assert cfg.model.type == 'SeedInferencer'
        sweeps = [
            m for m in cfg.test_evaluator if m['type'] == 'SeedSweepMetric'
        ]
        assert sweeps and sweeps[0]['prefix'] == 'sweep'
    # the VOC training configs are shared with the tool and pipeline tests
    if dataset == 'voc':
        assert toy.cfg(args, 'bas') == osp.join(ROOT, 'configs', 'toy',
                                                'bas_voc_toy.py')


def test_per_class_iou_from_metrics_json():
    metrics = {
        'mIoU': 30.0,
        'sweep/mIoU': 41.5,
        'sweep/best_threshold': 0.3,
        'sweep/IoU.background': 80.0,
        'sweep/IoU.traffic light': 3.0,
        'IoU.other': 1.0,
        'sweep/mIoU@0.30': 41.5
    }
    assert list(toy.per_class_iou(metrics).items()) == [('background', 80.0),
                                                        ('traffic light', 3.0)]
