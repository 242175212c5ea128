# Copyright (c) mmbas contributors. All rights reserved.
"""tools/run_pipeline.py end to end on the toy VOC layout: stage-1 BAS ->
seed sweep -> export -> mask check -> DeepLabV3+ on the pseudo masks, then
the resume logic: a rerun skips every stage; a stage-3 crash (final
checkpoint lost) reruns stage 3 only, resumed from its last checkpoint.
The final model vs predicting background everywhere on toy val is measured
(xfail: toy BAS from random init gives uninformative seeds).

Runtime: about 1.5-2 minutes on 2 free CPU cores (three pipeline runs)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmbas.testing import make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs', 'toy')


def all_background_miou(data_root: str, num_classes: int = 21) -> float:
    """mIoU (percent) of predicting background on every val pixel, with
    mmseg IoUMetric's semantics (ignore 255; classes whose union is empty
    are nan and left out of the mean)."""
    ids = open(osp.join(data_root, 'ImageSets', 'Segmentation',
                        'val.txt')).read().split()
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for i in ids:
        gt = np.array(Image.open(
            osp.join(data_root, 'SegmentationClass', f'{i}.png')))
        gt = gt[gt != 255].astype(np.int64)
        pred = np.zeros_like(gt)
        for c in range(num_classes):
            inter[c] += ((gt == c) & (pred == c)).sum()
            union[c] += ((gt == c) | (pred == c)).sum()
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = inter / union
    return float(np.nanmean(iou) * 100)


def pipeline_cmd(data_root, work_dir):
    opts = [
        f'{k}.dataset.data_root={data_root}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    return [
        sys.executable, osp.join(ROOT, 'tools', 'run_pipeline.py'),
        '--dataset', 'voc', '--work-dir', work_dir,
        '--stage1-config', osp.join(TOY, 'bas_voc_toy_r18.py'),
        '--seed-config', osp.join(TOY, 'bas_voc_toy_r18_seed.py'),
        '--stage3-config', osp.join(TOY, 'deeplabv3plus_r18_toy.py'),
        '--cfg-options-stage1'] + opts + ['--cfg-options-seeds'] + opts + [
        '--cfg-options-stage3'] + opts + [
        '--export-args', '--scales 1.0 0.5 1.5 --num-workers 0'
    ]


def run(cmd):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([ROOT, env.get('PYTHONPATH', '')])
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    return res, res.stdout + res.stderr


def stage_lines(log):
    return [ln for ln in log.splitlines() if ln.startswith('[pipeline] ')]


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('pipeline')
    make_voc(str(tmp_path / 'data'), num_train=16, num_val=8, size=96)
    data_root = str(tmp_path / 'data' / 'VOCdevkit' / 'VOC2012')
    work = str(tmp_path / 'work')
    cmd = pipeline_cmd(data_root, work)
    res, log = run(cmd)
    return dict(data_root=data_root, work=work, cmd=cmd, res=res, log=log)


def test_pipeline_end_to_end_and_resume(first_run):
    res, log, work, cmd = (first_run[k] for k in ('res', 'log', 'work',
                                                  'cmd'))
    assert res.returncode == 0, log[-4000:]
    for stage in ('stage1', 'seeds', 'pseudo', 'stage3'):
        assert f'[pipeline] {stage}: done' in log, stage
    assert 'pseudo-mask check ok (24 masks' in log
    with open(osp.join(work, 'summary.json')) as f:
        summary = json.load(f)
    assert 0.05 <= summary['best_threshold'] <= 0.85
    assert 0 <= summary['seed_mIoU'] <= 100
    assert 0 <= summary['val_mIoU'] <= 100
    for stage in ('stage1', 'seeds', 'pseudo', 'stage3'):
        assert summary['stages'][stage]['status'] == 'done'
        assert summary['stages'][stage]['time_s'] > 0
    assert osp.isfile(osp.join(work, 'pseudo', 'export_summary.json'))
    assert len([f for f in os.listdir(osp.join(work, 'pseudo'))
                if f.endswith('.png')]) == 24
    assert 'BAS pipeline summary' in log

    # rerun: every stage is complete, nothing is trained again
    res, log = run(cmd)
    assert res.returncode == 0, log[-4000:]
    for stage in ('stage1', 'seeds', 'pseudo', 'stage3'):
        assert f'[pipeline] {stage}: skipped' in log, stage
    assert 'train.py' not in '\n'.join(stage_lines(log))

    # crash in stage 3 after its first checkpoint: the final checkpoint and
    # the val metrics are lost; only stage 3 reruns, resumed from iter 30
    stage3 = osp.join(work, 'stage3')
    os.remove(osp.join(stage3, 'iter_60.pth'))
    os.remove(osp.join(stage3, 'val_metrics.json'))
    with open(osp.join(stage3, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(stage3, 'iter_30.pth'))
    res, log = run(cmd)
    assert res.returncode == 0, log[-4000:]
    for stage in ('stage1', 'seeds', 'pseudo'):
        assert f'[pipeline] {stage}: skipped' in log, stage
    assert '[pipeline] stage3: done' in log
    assert '--resume' in log and 'resumed epoch: 0, iter: 30' in log
    assert osp.isfile(osp.join(stage3, 'iter_60.pth'))
    with open(osp.join(work, 'summary.json')) as f:
        summary2 = json.load(f)
    assert summary2['stages']['stage1']['status'] == 'skipped'
    assert summary2['stages']['stage3']['status'] == 'done'


@pytest.mark.xfail(
    strict=False,
    reason='BAS trained from random init collapses on the toy data within '
    'the CI budget (seed maps carry no localisation; environment notes), so '
    'the stage-3 model does not yet beat all-background; kept to measure '
    'it (see the printed numbers)')
def test_final_model_beats_all_background(first_run):
    assert first_run['res'].returncode == 0, first_run['log'][-4000:]
    with open(osp.join(first_run['work'], 'summary.json')) as f:
        summary = json.load(f)
    baseline = all_background_miou(first_run['data_root'])
    print(f'toy val mIoU {summary["val_mIoU"]:.2f} vs all-background '
          f'{baseline:.2f}; seed mIoU {summary["seed_mIoU"]:.2f} at bg '
          f'threshold {summary["best_threshold"]}')
    assert summary['val_mIoU'] > baseline


def test_bad_pseudo_masks_stop_before_stage3(tmp_path):
    """The mask check runs in the pipeline: a missing mask stops stage 3
    with the list of files (stages 1-2 are faked as complete)."""
    from mmbas.apis.pipeline import Pipeline, PipelineError, parse_args
    make_voc(str(tmp_path / 'data'), num_train=4, num_val=2, size=64)
    data_root = str(tmp_path / 'data' / 'VOCdevkit' / 'VOC2012')
    args = parse_args(
        ['--dataset', 'voc', '--work-dir', str(tmp_path / 'w'),
         '--stage3-config', osp.join(TOY, 'deeplabv3plus_r18_toy.py'),
         '--stage1-config', osp.join(TOY, 'bas_voc_toy_r18.py'),
         '--seed-config', osp.join(TOY, 'bas_voc_toy_r18_seed.py'),
         '--cfg-options-stage3',
         f'train_dataloader.dataset.data_root={data_root}'])
    pseudo = tmp_path / 'pseudo'
    pseudo.mkdir()
    with pytest.raises(PipelineError, match=r'(?s)stage3: .*have no mask'):
        Pipeline(args).stage3(str(pseudo))
