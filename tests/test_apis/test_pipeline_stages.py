# Copyright (c) mmbas contributors. All rights reserved.
"""Fingerprinted stages (mmbas.apis.stages) and the pipeline's resume decisions
(mmbas.apis.pipeline), fast: the tools are replaced by fakes that write the
outputs the pipeline reads (checkpoints, metrics json, masks), so only the skip
/ rerun / move-aside logic and the command lines are tested.

tests/test_tools/test_run_pipeline.py runs the real tools.
"""
import functools
import glob
import json
import os
import os.path as osp
import time

import numpy as np
import pytest
from PIL import Image

from mmbas.apis.pipeline import Pipeline, format_summary
from mmbas.apis.stages import (FINGERPRINT_FILE, StageError, StageRunner,
                               load_stage_config, make_fingerprint,
                               parse_cfg_options)
from mmbas.testing import data_root_options, make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs', 'toy')
STAGE1 = osp.join(TOY, 'bas_voc_toy_r18.py')
SEEDS = osp.join(TOY, 'bas_voc_toy_r18_seed.py')
STAGE3 = osp.join(TOY, 'deeplabv3plus_r18_toy.py')


# ----------------------------------------------------------------------------
# fingerprints and StageRunner.enter
# ----------------------------------------------------------------------------
def test_fingerprint_fields_and_digest(tmp_path):
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'weights 1')
    cfg = load_stage_config(STAGE1, ['train_cfg.max_iters=7'])
    assert cfg.train_cfg.max_iters == 7
    base = dict(
        config=STAGE1,
        cfg=cfg,
        cfg_options=['train_cfg.max_iters=7'],
        args=['test.py', str(ckpt)],
        inputs=dict(checkpoint=ckpt))
    fp = make_fingerprint(**base)
    assert fp['config'] == STAGE1 and len(fp['config_sha256']) == 64
    assert fp['cfg_options'] == ['train_cfg.max_iters=7']
    assert fp == make_fingerprint(**base)  # deterministic
    # each field changes the digest
    up = make_fingerprint(args=['train.py'])
    variants = [
        dict(base, cfg=load_stage_config(STAGE1, ['train_cfg.max_iters=8'])),
        dict(base, cfg_options=['train_cfg.max_iters=07']),
        dict(base, args=['test.py', str(ckpt), '--num-workers', '0']),
        dict(base, upstream=up),
    ]
    digests = {make_fingerprint(**v)['digest'] for v in variants}
    assert len(digests | {fp['digest']}) == len(variants) + 1
    # a checkpoint retrained under the same path
    time.sleep(0.01)
    ckpt.write_bytes(b'weights 2')
    assert make_fingerprint(**base)['digest'] != fp['digest']


def test_parse_cfg_options_like_dict_action():
    import argparse

    from mmengine.config import DictAction
    tokens = [
        'a=1', 'b=[1,2]', 'c=(1, 2)', 'd=x,y', 'e="p,q"', 'f=None',
        'g=[(1,2),[3]]', 'h=1e-3'
    ]
    opts = parse_cfg_options(tokens)
    assert opts['c'] == (1, 2) and opts['d'] == ['x', 'y']
    p = argparse.ArgumentParser()
    p.add_argument('--o', nargs='+', action=DictAction)
    assert opts == p.parse_args(['--o'] + tokens).o
    with pytest.raises(StageError, match='not KEY=VALUE'):
        parse_cfg_options(['lonely'])


def test_enter_reuses_same_and_moves_aside_changed(tmp_path, capsys):
    runner = StageRunner()
    work = str(tmp_path / 'stage')
    fp1 = make_fingerprint(args=['train.py', 'x'])
    assert runner.enter('s', work, fp1) is False  # new, empty
    with open(osp.join(work, 'out.txt'), 'w') as f:
        f.write('partial')
    assert runner.enter('s', work, fp1) is True  # same: reuse / resume
    assert osp.isfile(osp.join(work, 'out.txt'))
    fp2 = make_fingerprint(args=['train.py', 'y'])
    assert runner.enter('s', work, fp2) is False
    assert os.listdir(work) == [FINGERPRINT_FILE]
    stale = glob.glob(f'{work}.stale-*')
    assert len(stale) == 1
    assert open(osp.join(stale[0], 'out.txt')).read() == 'partial'
    assert 'changed: args' in capsys.readouterr().out
    # outputs of unknown origin (no record) are stale as well
    os.remove(osp.join(work, FINGERPRINT_FILE))
    with open(osp.join(work, 'old.txt'), 'w') as f:
        f.write('?')
    assert runner.enter('s', work, fp2) is False
    assert len(glob.glob(f'{work}.stale-*')) == 2
    assert 'no stage_fingerprint.json' in capsys.readouterr().out


# ----------------------------------------------------------------------------
# the pipeline with fake tools
# ----------------------------------------------------------------------------
class FakeTools(StageRunner):
    """Writes what each tool would write; records the calls."""

    def __init__(self, data_root):
        super().__init__()
        self.data_root = data_root
        self.calls = []
        self.trainings = 0

    @staticmethod
    def _options(args):
        return list(args[args.index('--cfg-options') + 1:]) \
            if '--cfg-options' in args else []

    def run_tool(self, stage, tool, args, log_file=None):
        self.calls.append((stage, tool, list(args)))
        if tool == 'train.py':
            work = args[args.index('--work-dir') + 1]
            cfg = load_stage_config(args[0], self._options(args))
            os.makedirs(work, exist_ok=True)
            self.trainings += 1
            ckpt = osp.join(work, f'iter_{cfg.train_cfg.max_iters}.pth')
            with open(ckpt, 'w') as f:  # new weights every training
                f.write(f'weights {self.trainings}')
            with open(osp.join(work, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif tool == 'test.py':
            stamp = str(time.time_ns())
            out = osp.join(args[args.index('--work-dir') + 1], stamp)
            os.makedirs(out)
            with open(osp.join(out, f'{stamp}.json'), 'w') as f:
                json.dump(
                    {
                        'mIoU': 40.0,
                        'sweep/mIoU': 45.0,
                        'sweep/best_threshold': 0.3,
                        'sweep/mIoU@0.30': 45.0
                    }, f)
        elif tool == 'export_pseudo_labels.py':
            out = args[args.index('--out') + 1]
            os.makedirs(out, exist_ok=True)
            for img in glob.glob(
                    osp.join(self.data_root, 'JPEGImages', '*.jpg')):
                w, h = Image.open(img).size
                stem = osp.splitext(osp.basename(img))[0]
                Image.fromarray(np.zeros(
                    (h, w), np.uint8)).save(osp.join(out, f'{stem}.png'))
            with open(osp.join(out, 'export_summary.json'), 'w') as f:
                json.dump(dict(failed=0, class_pixel_share=FAKE_SHARES), f)
        else:
            raise AssertionError(tool)
        return 0.0

    def take(self):
        calls, self.calls = self.calls, []
        return calls


# pixel shares the fake export reports (background first, ignore last)
FAKE_SHARES = dict(background=0.6, aeroplane=0.25, bicycle=0.05, ignore=0.1)


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy')
    make_voc(str(root), num_train=4, num_val=2, size=48)
    return str(root / 'VOCdevkit' / 'VOC2012')


def make_pipeline(work,
                  tools,
                  data_root,
                  stage1=STAGE1,
                  seeds=(),
                  stage3=(),
                  export_args=()):
    opts = data_root_options(data_root)
    return Pipeline(
        work,
        'voc',
        stage1_config=stage1,
        seed_config=SEEDS,
        stage3_config=STAGE3,
        cfg_options=dict(
            stage1=opts, seeds=opts + list(seeds), stage3=opts + list(stage3)),
        export_args=export_args,
        runner=tools)


def statuses(summary):
    return {k: v['status'] for k, v in summary['stages'].items()}


ALL_DONE = dict(stage1='done', seeds='done', pseudo='done', stage3='done')


def test_pipeline_reruns_what_changed(toy, tmp_path):
    work = str(tmp_path / 'work')
    tools = FakeTools(toy)
    run = (lambda **kw: make_pipeline(work, tools, toy, **kw).run())

    summary = run()
    assert statuses(summary) == ALL_DONE
    calls = tools.take()
    assert [(s, t)
            for s, t, _ in calls] == [('stage1', 'train.py'),
                                      ('seeds', 'test.py'),
                                      ('pseudo', 'export_pseudo_labels.py'),
                                      ('stage3', 'train.py'),
                                      ('stage3', 'test.py')]
    # the export runs the seed config's model at the sweep's threshold,
    # with the seed stage's options
    export = calls[2][2]
    assert export[-1] == 'model.bg_threshold=0.3'
    assert export[export.index('--cfg-options') + 1:-1] == \
        data_root_options(toy)
    for stage in ('stage1', 'seeds', 'pseudo', 'stage3'):
        assert osp.isfile(osp.join(work, stage, FINGERPRINT_FILE))

    # unchanged: everything is skipped, no tool runs
    assert set(statuses(run()).values()) == {'skipped'}
    assert tools.take() == []

    # a stage-3 option: stage 3 only, its old folder moved aside
    summary = run(stage3=['model.decode_head.dropout_ratio=0.2'])
    assert statuses(summary) == dict(
        stage1='skipped', seeds='skipped', pseudo='skipped', stage3='done')
    assert len(glob.glob(osp.join(work, 'stage3.stale-*'))) == 1
    assert [c[:2] for c in tools.take()] == [('stage3', 'train.py'),
                                             ('stage3', 'test.py')]
    stage3 = ['model.decode_head.dropout_ratio=0.2']

    # an export argument: the export and stage 3
    summary = run(stage3=stage3, export_args=['--num-workers', '0'])
    assert statuses(summary) == dict(
        stage1='skipped', seeds='skipped', pseudo='done', stage3='done')
    calls = tools.take()
    assert calls[0][1] == 'export_pseudo_labels.py'
    assert calls[0][2][calls[0][2].index('--no-progress') +
                       1:][:2] == ['--num-workers', '0']
    export_args = ['--num-workers', '0']

    # a seed option: seeds, export, stage 3; the tokens reach the tools
    # verbatim (not re-written from the parsed values)
    seeds = ['model.scales=[1.0, 0.5]', 'model.flip=False']
    summary = run(stage3=stage3, export_args=export_args, seeds=seeds)
    assert statuses(summary) == dict(ALL_DONE, stage1='skipped')
    calls = tools.take()
    assert [c[1] for c in calls
            ] == ['test.py', 'export_pseudo_labels.py', 'train.py', 'test.py']
    assert calls[0][2][-2:] == seeds
    assert calls[1][2][-3:] == seeds + ['model.bg_threshold=0.3']

    # the same command again: all skipped
    summary = run(stage3=stage3, export_args=export_args, seeds=seeds)
    assert set(statuses(summary).values()) == {'skipped'}
    assert tools.take() == []


def test_pipeline_config_content_and_upstream(toy, tmp_path):
    work = str(tmp_path / 'work')
    tools = FakeTools(toy)
    config = tmp_path / 'stage1.py'
    config.write_text(f'_base_ = [{STAGE1!r}]\n')
    run = (lambda: make_pipeline(work, tools, toy, stage1=str(config)).run())
    assert statuses(run()) == ALL_DONE
    tools.take()

    # a comment leaves the resolved config as it was: nothing reruns
    config.write_text(f'_base_ = [{STAGE1!r}]\n# a note\n')
    assert set(statuses(run()).values()) == {'skipped'}
    # a value: every stage reruns (stage 1 changed, the others through
    # their upstream fingerprint)
    config.write_text(f'_base_ = [{STAGE1!r}]\n'
                      'optim_wrapper = dict(optimizer=dict(lr=0.02))\n')
    assert statuses(run()) == ALL_DONE
    for stage in ('stage1', 'seeds', 'pseudo', 'stage3'):
        assert len(glob.glob(osp.join(work, f'{stage}.stale-*'))) == 1
    tools.take()

    # stage 1 retrained with the same fingerprint (its final checkpoint was
    # lost): new weights, so the later stages run again too
    stage1 = osp.join(work, 'stage1')
    for f in glob.glob(osp.join(stage1, 'iter_*.pth')):
        os.remove(f)
    assert statuses(run()) == ALL_DONE
    assert len(glob.glob(osp.join(work, 'stage1.stale-*'))) == 1  # resumed
    assert len(glob.glob(osp.join(work, 'seeds.stale-*'))) == 2

    # val metrics lost: stage 3 only evaluates again (no training)
    os.remove(osp.join(work, 'stage3', 'val_metrics.json'))
    tools.take()
    summary = run()
    assert statuses(summary) == dict(
        stage1='skipped', seeds='skipped', pseudo='skipped', stage3='done')
    assert [c[:2] for c in tools.take()] == [('stage3', 'test.py')]


def test_pipeline_bg_threshold_and_bad_options(toy, tmp_path):
    tools = FakeTools(toy)
    opts = data_root_options(toy)
    pipe = Pipeline(
        str(tmp_path / 'w'),
        'voc',
        STAGE1,
        SEEDS,
        STAGE3,
        cfg_options=dict(stage1=opts, seeds=opts, stage3=opts),
        bg_threshold=0.45,
        runner=tools)
    summary = pipe.run()
    assert summary['best_threshold'] == 0.45
    export = [c for c in tools.calls if c[1] == 'export_pseudo_labels.py']
    assert export[0][2][-1] == 'model.bg_threshold=0.45'
    with pytest.raises(
            StageError,
            match='only stage1, seeds, relabels, irn, refine, stage3'):
        Pipeline(str(tmp_path / 'w'), cfg_options=dict(pseudo=['a=1']))
    with pytest.raises(
            StageError, match="--cfg-options-stage3: 'oops' is not KEY="):
        Pipeline(
            str(tmp_path / 'w2'),
            'voc',
            STAGE1,
            SEEDS,
            STAGE3,
            cfg_options=dict(stage3=['oops']),
            runner=tools)


# ----------------------------------------------------------------------------
# --refine irn with fake tools
# ----------------------------------------------------------------------------
IRN = osp.join(TOY, 'irn_r18_e2e.py')
#: what the fake tools.py reports for the refined masks
MASK_METRICS = {
    'mIoU': 50.0,
    'sweep/mIoU': 55.0,
    'sweep/best_threshold': 0.4,
    'sweep/mIoU@0.40': 55.0
}


class FakeRefineTools(FakeTools):
    """FakeTools plus the score files of ``--save-scores`` and the mask metrics
    of the ``masks`` stage's config."""

    def run_tool(self, stage, tool, args, log_file=None):
        if tool == 'test.py' and osp.basename(args[0]) == 'masks_config.py':
            self.calls.append((stage, tool, list(args)))
            stamp = str(time.time_ns())
            out = osp.join(args[args.index('--work-dir') + 1], stamp)
            os.makedirs(out)
            with open(osp.join(out, f'{stamp}.json'), 'w') as f:
                json.dump(MASK_METRICS, f)
            return 0.0
        super().run_tool(stage, tool, args, log_file)
        if tool == 'export_pseudo_labels.py' and '--save-scores' in args:
            out = args[args.index('--out') + 1]
            for png in glob.glob(osp.join(out, '*.png')):
                np.savez(
                    png[:-4] + '.npz',
                    maps=np.zeros((1, 2, 2)),
                    classes=np.array([1]))
        return 0.0


def make_refine_pipeline(work,
                         tools,
                         data_root,
                         irn=(),
                         relabel_opts=(),
                         refine_opts=(),
                         **kw):
    opts = data_root_options(data_root)
    return Pipeline(
        work,
        'voc',
        stage1_config=STAGE1,
        seed_config=SEEDS,
        stage3_config=STAGE3,
        cfg_options=dict(
            stage1=opts,
            seeds=opts,
            stage3=opts,
            irn=list(irn),
            relabels=list(relabel_opts),
            refine=list(refine_opts)),
        runner=tools,
        refine='irn',
        irn_config=IRN,
        **kw)


REFINE_DONE = dict(
    stage1='done',
    seeds='done',
    relabels='done',
    irn='done',
    refine='done',
    masks='done',
    pseudo='done',
    stage3='done')


def _config_of(call):
    from mmengine.config import Config
    return Config.fromfile(call[2][0])


def test_refine_stages_and_their_configs(toy, tmp_path):
    work = str(tmp_path / 'work')
    tools = FakeRefineTools(toy)
    summary = make_refine_pipeline(work, tools, toy).run()
    assert statuses(summary) == REFINE_DONE
    assert list(summary['stages']) == list(REFINE_DONE)
    calls = tools.take()
    assert [c[:2] for c in calls] == [('stage1', 'train.py'),
                                      ('seeds', 'test.py'),
                                      ('relabels', 'export_pseudo_labels.py'),
                                      ('irn', 'train.py'),
                                      ('refine', 'export_pseudo_labels.py'),
                                      ('masks', 'test.py'),
                                      ('pseudo', 'export_pseudo_labels.py'),
                                      ('stage3', 'train.py'),
                                      ('stage3', 'test.py')]
    stage1_ckpt = summary['stages']['stage1']['checkpoint']
    seeds_cfg = load_stage_config(SEEDS, data_root_options(toy))
    train_set = seeds_cfg.train_dataloader.dataset
    test_pipeline = seeds_cfg.test_dataloader.dataset.pipeline

    def check_export_set(cfg):
        # the stage-1 train set, read through the test pipeline
        ds = cfg.export_dataloader.dataset
        assert ds.ann_file == train_set.ann_file == \
            'ImageSets/Segmentation/trainaug.txt'
        assert ds.data_root == toy
        assert ds.pipeline == test_pipeline != train_set.pipeline

    # relabels: the seed model with the relation-label refiner
    relabels = calls[2]
    assert relabels[2][:2] == [
        osp.join(work, 'relabels_export_config.py'), stage1_ckpt
    ]
    assert relabels[2][relabels[2].index('--out') + 1] == \
        osp.join(work, 'relabels')
    cfg = _config_of(relabels)
    assert cfg.model.type == 'SeedInferencer'
    assert cfg.model.refiner == dict(type='RelationLabelRefiner')
    assert cfg.model.crf is None
    assert cfg.model.module == seeds_cfg.model.module
    check_export_set(cfg)
    assert '--save-scores' not in relabels[2]
    # their pixel shares, from the export summary, in the summary table
    assert summary['stages']['relabels']['label_shares'] == dict(
        foreground=0.3, background=0.6, ignore=0.1)
    assert ('6 relation label maps: foreground 30.0%, background 60.0%, '
            'ignore 10.0% of the pixels') in format_summary(summary)

    # irn: trained on the relation labels of the stage-1 train set
    irn = calls[3][2]
    assert irn[0] == IRN
    cfg = load_stage_config(IRN, irn[irn.index('--cfg-options') + 1:])
    ds = cfg.train_dataloader.dataset
    assert ds.data_prefix.seg_map_path == osp.join(work, 'relabels')
    assert ds.data_root == toy
    assert ds.ann_file == train_set.ann_file
    assert ds.data_prefix.img_path == train_set.data_prefix.img_path
    irn_ckpt = osp.join(work, 'irn', f'iter_{cfg.train_cfg.max_iters}.pth')
    assert summary['stages']['irn']['checkpoint'] == irn_ckpt

    # refine: the walk with the trained IRN, maps stored, labels at 0.22
    refine = calls[4]
    assert refine[2][:2] == [
        osp.join(work, 'refine_export_config.py'), stage1_ckpt
    ]
    assert '--save-scores' in refine[2]
    cfg = _config_of(refine)
    refiner = cfg.model.refiner
    assert refiner.type == 'IRNWalkRefiner'
    assert refiner.checkpoint == irn_ckpt
    assert refiner.irn.type == 'IRN'
    assert refiner.irn.backbone.init_cfg is None
    assert cfg.model.bg_threshold == 0.22
    check_export_set(cfg)

    # masks: the seed config's test set and evaluators on the stored maps
    masks = calls[5]
    assert masks[2][0] == osp.join(work, 'masks_config.py')
    cfg = _config_of(masks)
    assert cfg.model == dict(
        type='StoredMapsInferencer',
        maps_dir=osp.join(work, 'refine'),
        num_classes=20,
        bg_threshold=0.22,
        fg_threshold=None)
    assert cfg.test_dataloader == seeds_cfg.test_dataloader
    assert cfg.test_evaluator == seeds_cfg.test_evaluator
    assert 'export_dataloader' not in cfg

    # pseudo: the stored maps at the masks' best threshold (no walk)
    pseudo = calls[6][2]
    assert pseudo[0] == osp.join(work, 'pseudo_export_config.py')
    assert pseudo[-2:] == ['--cfg-options', 'model.bg_threshold=0.4']
    cfg = _config_of(calls[6])
    assert cfg.model.type == 'StoredMapsInferencer'
    check_export_set(cfg)
    # stage 3 trains on them
    assert f"seg_map_path={osp.join(work, 'pseudo')}" in ' '.join(calls[7][2])

    assert summary['seed_mIoU'] == 45.0 and summary['best_threshold'] == 0.3
    assert summary['mask_mIoU'] == 55.0
    assert summary['mask_threshold'] == 0.4
    assert summary['refine'] == 'irn'

    table = format_summary(summary)
    assert 'mask mIoU 55.00 at bg threshold 0.4' in table
    assert 'seed mIoU      45.00' in table


def test_refine_resume_and_fingerprints(toy, tmp_path):
    work = str(tmp_path / 'work')
    tools = FakeRefineTools(toy)
    run = (lambda **kw: make_refine_pipeline(work, tools, toy, **kw).run())
    assert statuses(run()) == REFINE_DONE
    tools.take()
    for stage in REFINE_DONE:
        assert osp.isfile(osp.join(work, stage, FINGERPRINT_FILE))

    # unchanged: nothing runs
    assert set(statuses(run()).values()) == {'skipped'}
    assert tools.take() == []

    # an IRN option: IRN and everything after it; the relabels stay
    summary = run(irn=['optim_wrapper.optimizer.lr=0.05'])
    assert statuses(summary) == dict(
        REFINE_DONE, stage1='skipped', seeds='skipped', relabels='skipped')
    assert [c[:2]
            for c in tools.take()] == [('irn', 'train.py'),
                                       ('refine', 'export_pseudo_labels.py'),
                                       ('masks', 'test.py'),
                                       ('pseudo', 'export_pseudo_labels.py'),
                                       ('stage3', 'train.py'),
                                       ('stage3', 'test.py')]
    for stage in ('irn', 'refine', 'masks', 'pseudo', 'stage3'):
        assert len(glob.glob(osp.join(work, f'{stage}.stale-*'))) == 1
    assert not glob.glob(osp.join(work, 'relabels.stale-*'))
    irn = ['optim_wrapper.optimizer.lr=0.05']

    # IRN crashed after a checkpoint: resumed; its new weights rerun the
    # walk and the later stages
    for f in glob.glob(osp.join(work, 'irn', 'iter_*.pth')):
        os.remove(f)
    mid = osp.join(work, 'irn', 'iter_1.pth')
    with open(mid, 'w') as f:
        f.write('partial')
    with open(osp.join(work, 'irn', 'last_checkpoint'), 'w') as f:
        f.write(mid)
    summary = run(irn=irn)
    assert statuses(summary) == dict(
        REFINE_DONE, stage1='skipped', seeds='skipped', relabels='skipped')
    calls = tools.take()
    assert calls[0][:2] == ('irn', 'train.py') and '--resume' in calls[0][2]
    assert len(glob.glob(osp.join(work, 'irn.stale-*'))) == 1  # resumed
    assert len(glob.glob(osp.join(work, 'refine.stale-*'))) == 2

    # a refined map lost: the refine export completes, the rest reruns
    # (the export's output is fingerprinted by its inputs, not its files)
    os.remove(glob.glob(osp.join(work, 'refine', '*.npz'))[0])
    summary = run(irn=irn)
    assert summary['stages']['refine']['status'] == 'done'
    assert summary['stages']['masks']['status'] == 'skipped'
    assert [c[:2]
            for c in tools.take()] == [('refine', 'export_pseudo_labels.py')]

    # mask metrics lost: only the mask evaluation runs again
    os.remove(osp.join(work, 'masks', 'mask_metrics.json'))
    summary = run(irn=irn)
    assert statuses(summary) == dict({s: 'skipped'
                                      for s in REFINE_DONE},
                                     masks='done')
    assert [c[:2] for c in tools.take()] == [('masks', 'test.py')]

    # a fixed --bg-threshold is the masks' export threshold
    summary = run(irn=irn, bg_threshold=0.5)
    assert summary['mask_threshold'] == 0.5
    assert summary['best_threshold'] == 0.3  # the seeds' sweep
    export = [c for c in tools.take() if c[0] == 'pseudo']
    assert export[0][2][-1] == 'model.bg_threshold=0.5'

    # without --refine the pipeline is the plain one, in its own folders
    summary = make_pipeline(work, tools, toy).run()
    assert list(summary['stages']) == ['stage1', 'seeds', 'pseudo', 'stage3']
    assert 'mask_mIoU' not in summary
    # its export reads the stage-1 train set through the test pipeline
    # (whole images), not the training pipeline (resize, crop, flip)
    export = [c for c in tools.take() if c[0] == 'pseudo'][0]
    cfg = _config_of(export)
    seeds_cfg = load_stage_config(SEEDS, data_root_options(toy))
    assert cfg.model.type == 'SeedInferencer'
    assert cfg.export_dataloader.dataset.ann_file == \
        seeds_cfg.train_dataloader.dataset.ann_file
    assert cfg.export_dataloader.dataset.pipeline == \
        seeds_cfg.test_dataloader.dataset.pipeline


def test_relabel_and_walk_options_reach_their_exports(toy, tmp_path):
    work = str(tmp_path / 'work')
    tools = FakeRefineTools(toy)
    assert statuses(make_refine_pipeline(work, tools, toy).run()) == \
        REFINE_DONE
    tools.take()

    def options_of(call):
        args = call[2]
        return args[args.index('--cfg-options') + 1:]

    # relation-label thresholds: the relabels and every later stage rerun
    relabel = [
        'model.refiner.fg_threshold=0.4', 'model.refiner.bg_threshold=0.2'
    ]
    summary = make_refine_pipeline(
        work, tools, toy, relabel_opts=relabel).run()
    assert statuses(summary) == dict(
        REFINE_DONE, stage1='skipped', seeds='skipped')
    calls = tools.take()
    assert calls[0][:2] == ('relabels', 'export_pseudo_labels.py')
    assert options_of(calls[0]) == relabel
    refiner = load_stage_config(calls[0][2][0], relabel).model.refiner
    assert refiner == dict(
        type='RelationLabelRefiner', fg_threshold=0.4, bg_threshold=0.2)

    # a walk option: the refine export and what follows; IRN stays
    walk = ['model.refiner.beta=8']
    summary = make_refine_pipeline(
        work, tools, toy, relabel_opts=relabel, refine_opts=walk).run()
    assert statuses(summary) == dict(
        REFINE_DONE,
        stage1='skipped',
        seeds='skipped',
        relabels='skipped',
        irn='skipped')
    calls = tools.take()
    assert calls[0][:2] == ('refine', 'export_pseudo_labels.py')
    assert options_of(calls[0]) == walk
    cfg = load_stage_config(calls[0][2][0], walk)
    assert cfg.model.refiner.type == 'IRNWalkRefiner'
    assert cfg.model.refiner.beta == 8


def test_refine_missing_maps_and_bad_arguments(toy, tmp_path):
    from mmbas.apis.pipeline import PipelineError
    work = str(tmp_path / 'work')
    tools = FakeRefineTools(toy)
    pipe = make_refine_pipeline(work, tools, toy)
    ckpt = pipe.stage1()
    pipe.seeds(ckpt)
    pipe.refine(ckpt, pipe.irn(pipe.relabels(ckpt)))
    # a test image without refined maps: named, with the fix
    lost = osp.join(work, 'refine', '2008_000002.npz')
    os.remove(lost)
    with pytest.raises(
            PipelineError,
            match=r'1 of the 4 test images .*2008_000002\.npz'
            r'.*test_dataloader'):
        pipe.masks(ckpt, osp.join(work, 'refine'))
    # a pipeline on the same configs, given one bad argument at a time
    bare = functools.partial(
        Pipeline,
        str(tmp_path / 'w'),
        'voc',
        STAGE1,
        SEEDS,
        STAGE3,
        runner=tools)
    # refinement options without --refine are refused, named
    for stage in ('relabels', 'irn', 'refine'):
        with pytest.raises(
                StageError,
                match=f'--cfg-options-{stage} given without refine: add '
                '--refine irn'):
            bare(cfg_options={stage: ['a=1']})
    with pytest.raises(StageError, match="refine 'crf' is not one of irn"):
        bare(refine='crf')
    with pytest.raises(StageError, match='--cfg-options-irn: .* KEY='):
        make_refine_pipeline(str(tmp_path / 'w'), tools, toy, irn=['x'])


def test_until_stops_after_the_stage_and_resumes(toy, tmp_path, capsys):
    from mmbas.apis.pipeline import PipelineError
    work = str(tmp_path / 'work')
    tools = FakeRefineTools(toy)
    summary = make_refine_pipeline(work, tools, toy, until='masks').run()
    # the stages up to masks ran, the export and stage 3 did not
    assert statuses(summary) == dict(
        stage1='done',
        seeds='done',
        relabels='done',
        irn='done',
        refine='done',
        masks='done')
    assert [c[0] for c in tools.take()][-1] == 'masks'
    assert summary['until'] == 'masks'
    assert summary['mask_mIoU'] == 55.0 and summary['val_mIoU'] is None
    assert not osp.exists(osp.join(work, 'pseudo'))
    assert not osp.exists(osp.join(work, 'stage3'))
    assert 'stopped after masks' in format_summary(summary)
    assert 'stopping after masks' in capsys.readouterr().out
    # plain pipeline until seeds, then the same call without until: the
    # finished stages are skipped, the rest runs
    work = str(tmp_path / 'plain')
    tools = FakeTools(toy)
    pipe = make_pipeline(work, tools, toy)
    pipe.until = 'seeds'
    assert statuses(pipe.run()) == dict(stage1='done', seeds='done')
    assert [c[0] for c in tools.take()] == ['stage1', 'seeds']
    summary = make_pipeline(work, tools, toy).run()
    assert statuses(summary) == dict(
        ALL_DONE, stage1='skipped', seeds='skipped')
    assert [c[0] for c in tools.take()] == ['pseudo', 'stage3', 'stage3']
    assert 'until' not in summary
    # a refine stage without refine is named; an unknown stage too
    with pytest.raises(
            PipelineError, match=r"until 'masks' .* stage of "
            r'--refine irn'):
        Pipeline(work, 'voc', STAGE1, SEEDS, STAGE3, until='masks')
    with pytest.raises(PipelineError, match="until 'stage4' is not a stage"):
        make_refine_pipeline(work, tools, toy, until='stage4')
