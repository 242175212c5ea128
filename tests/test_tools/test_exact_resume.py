# Copyright (c) mmbas contributors. All rights reserved.
"""Exact resume: a seeded toy BAS multi-label training killed with SIGKILL
after a checkpoint and resumed with ``--resume`` ends with the weights of an
uninterrupted run, bit for bit (one CPU thread)."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmbas.engine.hooks.class_sampler_state_hook import CHECKPOINT_KEY
from mmbas.testing import data_root_options, make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'toy', 'bas_voc_toy_r18.py')
KILL_AT, MAX_ITERS = 3, 6


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('resume')
    make_voc(str(root / 'data'), num_train=6, num_val=2)
    config = root / 'resume_toy.py'
    # 6 images, batch 4: epochs of 2 iterations (the last batch short), so
    # the kill at 3 falls inside an epoch; no validation
    config.write_text(
        f'_base_ = [{TOY_CONFIG!r}]\n'
        "custom_imports = dict(imports=['mmbas', 'stall_hook'],\n"
        '                      allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='NumClassesCheckHook'),\n"
        "                dict(type='ClassSamplerStateHook'),\n"
        "                dict(type='StallAfterCheckpointHook')]\n"
        f'train_cfg = dict(max_iters={MAX_ITERS}, val_interval=100)\n'
        'val_cfg = None\nval_dataloader = None\nval_evaluator = None\n'
        'param_scheduler = [dict(type="PolyLR", power=0.9, eta_min=0.0,\n'
        f'    by_epoch=False, begin=0, end={MAX_ITERS})]\n'
        'default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10),'
        '\n    logger=dict(interval=1))\n')
    data_root = str(root / 'data' / 'VOCdevkit' / 'VOC2012')
    opts = ['--cfg-options'] + data_root_options(data_root,
                                                 ('train_dataloader', ))
    return str(config), opts, root


def _train(config, opts, work, *extra, env=None):
    return [
        sys.executable, 'tools/train.py', config, '--work-dir', work, *extra
    ] + opts


def _kill_after_checkpoint(run_tool, args, work):
    """Start ``args``; SIGKILL it once the checkpoint of KILL_AT is on disk
    (the stall hook holds the process there).

    One thread (run_tool's environment): the same kernels in the same order in
    every run.
    """
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=run_tool.env(dict(MMBAS_STALL_AT_ITER=str(KILL_AT))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)
    deadline = time.time() + 900
    try:
        while not osp.isfile(osp.join(work, 'stalled')):
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.time() < deadline, 'the run never stalled'
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _final_weights(work):
    ckpt = torch.load(
        osp.join(work, f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=False)
    return ckpt['state_dict'], ckpt['optimizer']['state']


def _max_diff(a, b):
    assert a.keys() == b.keys()
    return max(
        (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
        for x, y in ((a[k], b[k]) for k in a))


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(run_tool, setup, tmp_path):
    config, opts, _ = setup
    straight = str(tmp_path / 'straight')
    run_tool(_train(config, opts, straight), check=True)

    killed = str(tmp_path / 'killed')
    _kill_after_checkpoint(run_tool, _train(config, opts, killed), killed)
    assert not osp.exists(osp.join(killed, f'iter_{KILL_AT + 1}.pth'))
    with open(osp.join(killed, 'last_checkpoint')) as f:
        assert f.read().strip().endswith(f'iter_{KILL_AT}.pth')
    ckpt = torch.load(
        osp.join(killed, f'iter_{KILL_AT}.pth'),
        map_location='cpu',
        weights_only=False)
    assert CHECKPOINT_KEY in ckpt  # the class sampler is in the checkpoint
    log = run_tool(_train(config, opts, killed, '--resume'), check=True).log
    assert f'resumed epoch: 0, iter: {KILL_AT}' in log

    weights, momenta = _final_weights(straight)
    resumed_weights, resumed_momenta = _final_weights(killed)
    assert _max_diff(weights, resumed_weights) == 0
    for key in momenta:
        assert _max_diff(momenta[key], resumed_momenta[key]) == 0

    # control: the same resume without the sampler state (a checkpoint
    # written before ClassSamplerStateHook) draws other classes and ends
    # elsewhere -- the comparison above can fail
    old = str(tmp_path / 'old_ckpt')
    os.makedirs(old)
    del ckpt[CHECKPOINT_KEY]
    old_ckpt = osp.join(old, f'iter_{KILL_AT}.pth')
    torch.save(ckpt, old_ckpt)
    run_tool(_train(config, opts, old, '--resume', old_ckpt), check=True)
    old_weights, _ = _final_weights(old)
    assert _max_diff(weights, old_weights) > 0
