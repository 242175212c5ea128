# Copyright (c) mmbas contributors. All rights reserved.
"""tools/train.py, --resume, tools/test.py and tools/dist_train.sh on the toy
VOC layout with configs/toy/bas_voc_toy.py (the issue's acceptance run), and
the one-line errors of the tools."""
import os.path as osp
import sys

import pytest

from mmbas.testing import data_root_options, make_voc

# every test runs a tool in a subprocess
pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'toy', 'bas_voc_toy.py')


@pytest.fixture(scope='module')
def toy_voc(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy')
    make_voc(str(root), num_train=8, num_val=2)
    return str(root / 'VOCdevkit' / 'VOC2012')


def test_train_resume_test(run_tool, toy_voc, tmp_path):
    work = str(tmp_path / 'work')
    train = [sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir', work]
    opts = ['--cfg-options'] + data_root_options(toy_voc)
    result, log = run_tool(train + opts)
    assert result.returncode == 0, log[-3000:]
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    for term in ('loss_cls', 'loss_frg', 'loss_bas', 'loss_area'):
        assert term in log
    assert 'mIoU' in log  # validation at the end of training

    result, log = run_tool(train + ['--resume'] + opts +
                           ['train_cfg.max_iters=6'])
    assert result.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 4' in log
    assert 'Loading the user-named checkpoint' in log
    assert osp.isfile(osp.join(work, 'iter_6.pth'))

    # --resume CKPT resumes from that file
    result, log = run_tool(
        train + ['--resume', osp.join(work, 'iter_4.pth')] + opts +
        ['train_cfg.max_iters=5'])
    assert result.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 4' in log

    result, log = run_tool([
        sys.executable, 'tools/test.py', TOY_CONFIG,
        osp.join(work, 'iter_6.pth'), '--work-dir',
        str(tmp_path / 'test')
    ] + opts)
    assert result.returncode == 0, log[-3000:]
    assert 'Iter(test)' in log and 'mIoU' in log


def test_dist_train_two_cpu_ranks(run_tool, toy_voc, tmp_path):
    config = tmp_path / 'dist_toy.py'
    config.write_text(
        f"_base_ = [{TOY_CONFIG!r}]\n"
        "custom_imports = dict(imports=['mmbas', 'record_samples_hook'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='RecordSamplesHook')]\n")
    work = str(tmp_path / 'dist')
    result, log = run_tool(
        [
            'bash', 'tools/dist_train.sh',
            str(config), '2', '--work-dir', work, '--cfg-options'
        ] + data_root_options(toy_voc) +
        ['train_cfg.max_iters=2', 'train_cfg.val_interval=100'],
        env=dict(PORT='29617', CUDA_VISIBLE_DEVICES=''))
    assert result.returncode == 0, log[-3000:]
    assert 'Distributed training is not used' not in log
    samples = []
    for rank in (0, 1):
        with open(osp.join(work, f'samples_rank{rank}.txt')) as f:
            samples.append([line.strip() for line in f])
    # trainaug holds 12 toy images: each rank's shard of the epoch is 6
    # (batches of 4 and 2), the two shards are disjoint and cover all 12
    with open(osp.join(toy_voc, 'ImageSets', 'Segmentation',
                       'trainaug.txt')) as f:
        num_images = len(f.read().split())
    assert num_images == 12
    assert len(samples[0]) == len(samples[1]) == 6
    assert set(samples[0]).isdisjoint(samples[1])
    assert len(set(samples[0]) | set(samples[1])) == 12
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def test_missing_config_is_one_line(run_tool, tmp_path):
    result, log = run_tool(
        [sys.executable, 'tools/train.py', 'configs/nope.py'])
    assert result.returncode == 2
    assert 'train.py: error: config file configs/nope.py does not exist' \
        in result.stderr
    assert 'Traceback' not in result.stderr


def test_registry_typo_suggests_the_fix(run_tool, toy_voc, tmp_path):
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options'
    ] + data_root_options(toy_voc) + ['model.backbone.type=WSSSResnet'])
    assert result.returncode == 2
    assert "unknown type 'WSSSResnet'" in result.stderr
    assert "did you mean 'WSSSResNet'" in result.stderr
    assert 'Traceback' not in result.stderr


def test_missing_dataset_root_is_one_line(run_tool, tmp_path):
    missing = str(tmp_path / 'no_voc')
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options'
    ] + data_root_options(missing))
    assert result.returncode == 2, log[-2000:]
    assert missing in result.stderr
    assert 'Traceback' not in result.stderr


def test_missing_test_checkpoint(run_tool, toy_voc, tmp_path):
    result, log = run_tool([
        sys.executable, 'tools/test.py', TOY_CONFIG,
        str(tmp_path / 'none.pth')
    ])
    assert result.returncode == 2
    assert 'none.pth does not exist' in result.stderr


def test_amp_on_cpu_uses_bf16_autocast(run_tool, toy_voc, tmp_path):
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--amp', '--work-dir',
        str(tmp_path / 'amp'), '--cfg-options'
    ] + data_root_options(
        toy_voc) + ['train_cfg.max_iters=2', 'train_cfg.val_interval=100'])
    assert result.returncode == 0, log[-3000:]
    assert 'bfloat16 CPU autocast' in log
    train_lines = [line for line in log.splitlines() if 'Iter(train)' in line]
    assert len(train_lines) == 2
    assert all('loss_bas' in line and 'nan' not in line
               for line in train_lines)


def test_num_classes_mismatch_stops_before_training(run_tool, toy_voc,
                                                    tmp_path):
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir',
        str(tmp_path / 'nc'), '--cfg-options'
    ] + data_root_options(toy_voc) + ['model.head.num_classes=19'])
    assert result.returncode != 0
    assert 'num_classes mismatch' in log
    assert 'model.head.num_classes' in log
    assert 'Iter(train)' not in log
