# Copyright (c) mmbas contributors. All rights reserved.
"""tools/train.py on the toy IRN config (configs/toy/irn_r18_voc_toy.py):

relation labels = the toy GT masks, 3 iterations.
"""
import math
import os.path as osp
import re

import pytest
import torch

from mmbas.testing import make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'toy', 'irn_r18_voc_toy.py')
KEYS = ('loss_edge', 'loss_disp', 'aff_bg_pos', 'aff_fg_pos', 'aff_neg',
        'disp_fg', 'disp_bg')


@pytest.mark.slow
def test_train_toy_irn(run_tool, tmp_path):
    make_voc(str(tmp_path / 'toy'), num_train=4, num_val=1)
    data_root = str(tmp_path / 'toy' / 'VOCdevkit' / 'VOC2012')
    work = str(tmp_path / 'work')
    result = run_tool([
        'tools/train.py', TOY_CONFIG, '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_cfg.max_iters=3', 'param_scheduler.0.end=3'
    ],
                      timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    lines = [ln for ln in log.splitlines() if 'Iter(train) [' in ln]
    assert len(lines) == 3, log[-3000:]
    for key in KEYS:
        values = [
            float(re.search(rf' {key}: (\S+)', ln).group(1)) for ln in lines
        ]
        assert all(math.isfinite(v) for v in values), (key, values)
    ckpt = torch.load(
        osp.join(work, 'iter_3.pth'), map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    assert 'boundary_head.fuse.weight' in state
    assert 'displacement_head.mean_shift.running_mean' in state
