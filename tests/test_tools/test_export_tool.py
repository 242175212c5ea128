# Copyright (c) mmbas contributors. All rights reserved.
"""tools/export_pseudo_labels.py and tools/dist_export.sh end to end on the toy
VOC (CPU, gloo): 2 ranks split the list and write exactly the files of a
single-process run; an export SIGKILLed midway and rerun leaves exactly the
files of an uninterrupted run; user errors end with one line and exit status
2."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mmbas.testing.export_setup import (make_export_setup, make_seed_setup,
                                        make_slow_config)

# every test runs the export tool in a subprocess
pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'export_pseudo_labels.py')
DIST = osp.join(ROOT, 'tools', 'dist_export.sh')
TEST_TOOL = osp.join(ROOT, 'tools', 'test.py')
ARGS = ['--num-workers', '0', '--save-scores', '--no-progress']


def export_main(argv):
    """``main`` of tools/export_pseudo_labels.py, in this process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('export_tool', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main(argv)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_export_setup(str(tmp_path_factory.mktemp('tool')), num_train=6)


def _files(path):
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path)) if f.endswith(('.png', '.npz'))
    }


def _tree(path):
    """Every file and folder under ``path`` (relative paths)."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(path):
        rel = osp.relpath(dirpath, path)
        out.update(osp.normpath(osp.join(rel, n)) for n in dirnames)
        out.update(osp.normpath(osp.join(rel, n)) for n in filenames)
    return out


@pytest.fixture(scope='module')
def reference(setup, tmp_path_factory):
    """Uninterrupted single-process export with ARGS.

    It runs in-process (same code path as the tool) with one thread, like every
    torchrun rank and the tool subprocesses here (OMP_NUM_THREADS=1).
    """
    import torch

    out = str(tmp_path_factory.mktemp('reference') / 'out')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert export_main(
            [setup['config'], setup['checkpoint'], '--out', out, *ARGS]) == 0
    finally:
        torch.set_num_threads(threads)
    return out


def test_two_ranks_equal_single_process(run_tool, setup, reference, tmp_path):
    single, double = reference, str(tmp_path / 'two')
    base = [setup['config'], setup['checkpoint']]
    two = run_tool([DIST, *base, '2', '--out', double, *ARGS],
                   env=dict(PORT=run_tool.free_port()))
    assert two.returncode == 0, two.stderr
    n = len(open(setup['list']).read().split())
    shard0, shard1 = (n + 1) // 2, n // 2
    assert f'[rank 0/2] shard of {shard0} images: written {shard0}' \
        in two.stderr
    assert f'[rank 1/2] shard of {shard1} images: written {shard1}' \
        in two.stderr
    ref = _files(single)
    assert len(ref) == 2 * n
    assert _files(double) == ref  # byte-identical union
    summary = json.load(open(osp.join(double, 'export_summary.json')))
    assert summary['written'] == n and summary['failed'] == 0
    assert summary['class_pixels'] == json.load(
        open(osp.join(single, 'export_summary.json')))['class_pixels']
    assert 'images without foreground' in two.stderr


def test_cli_user_errors(run_tool, setup, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    wrong = run_tool([
        TOOL, setup['config'], setup['bad_checkpoint'], '--out',
        str(tmp_path / 'out')
    ])
    assert wrong.returncode == 2
    line = [ln for ln in wrong.stderr.splitlines() if 'error:' in ln]
    assert len(line) == 1 and setup['bad_checkpoint'] in line[0]
    assert 'does not match the model' in line[0]
    assert not [f for f in os.listdir(tmp_path / 'out') if f.endswith('.png')
                ]  # failed before any work


def test_killed_export_rerun_is_byte_identical(run_tool, setup, reference,
                                               tmp_path):
    """SIGKILL the tool midway, rerun the same command: the folder then holds
    exactly the files of an uninterrupted export, byte for byte, and no temp
    file.

    The config's backbone sleeps 0.25 s per forward (test-only
    SlowTinyBackbone, same weights and maps), so the kill, sent once 3 of the 9
    masks exist, lands with most of the list still to do.
    """
    n = len(open(setup['list']).read().split())
    out = str(tmp_path / 'out')
    cmd = [
        sys.executable,
        TOOL,
        make_slow_config(setup, delay_s=0.25),
        setup['checkpoint'],
        '--out',
        out,
        *ARGS,
        '--num-workers',
        '1'  # the last one wins: a decode worker
    ]

    def pngs():
        try:
            return sorted(f for f in os.listdir(out) if f.endswith('.png'))
        except FileNotFoundError:
            return []

    # own session: the kill takes the DataLoader worker down too, like a
    # scheduler killing the job; output to a file (a full pipe would stall)
    log = tmp_path / 'killed.log'
    with open(log, 'w') as f:
        proc = subprocess.Popen(
            cmd,
            env=run_tool.env(),
            stdout=f,
            stderr=f,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while len(pngs()) < 3:
            assert proc.poll() is None, \
                'export ended before the kill:\n' + log.read_text()
            assert time.monotonic() < deadline, 'no masks appeared'
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    ref = _files(reference)
    assert len(ref) == 2 * n
    done = pngs()
    assert 3 <= len(done) < n, done  # killed midway
    partial = _files(out)
    for name, data in partial.items():  # nothing torn under a final name
        assert data == ref[name], name
    assert not osp.exists(osp.join(out, 'export_summary.json'))

    again = run_tool(cmd)
    assert again.returncode == 0, again.stderr
    k = len(done)
    assert (f'[rank 0/1] shard of {n} images: written {n - k}, skipped {k}, '
            'failed 0') in again.stderr
    assert _files(out) == ref  # every mask and score file, byte for byte
    # same file set, no temp file or .tmp folder left by the killed run
    assert _tree(out) == _tree(reference)
    assert not [f for f in _tree(out) if '.tmp' in f]
    summary = json.load(open(osp.join(out, 'export_summary.json')))
    assert summary['written'] == n - k and summary['skipped'] == k
    assert summary['failed'] == 0
    # the pixel counts cover the skipped masks too: same as uninterrupted
    full = json.load(open(osp.join(reference, 'export_summary.json')))
    for key in ('class_pixels', 'total_pixels', 'no_foreground'):
        assert summary[key] == full[key], key


def _labels(path):
    from PIL import Image
    return {
        f: np.asarray(Image.open(osp.join(path, f)))
        for f in sorted(os.listdir(path)) if f.endswith('.png')
    }


@pytest.mark.parametrize('threshold', [None, 0.4])
def test_export_writes_the_label_maps_test_scores(run_tool, setup, tmp_path,
                                                  threshold):
    """The seed config (3 scales + flip, CAM fusion, dense CRF) exported with
    the tool's defaults gives exactly the label maps tools/test.py scored (its
    IoUMetric writes them with --out), also when the threshold is overridden
    the same way in both."""
    config = make_seed_setup(
        setup, fusion=True, crf=True, scales=(1.0, 0.5, 1.5), bg_threshold=0.3)
    opts = [] if threshold is None else [
        '--cfg-options', f'model.bg_threshold={threshold}'
    ]
    scored, exported = str(tmp_path / 'scored'), str(tmp_path / 'exported')
    test = run_tool([
        TEST_TOOL, config, setup['checkpoint'], '--out', scored, '--work-dir',
        str(tmp_path / 'work'), *opts
    ])
    assert test.returncode == 0, test.stderr
    export = run_tool([
        TOOL, config, setup['checkpoint'], '--out', exported, '--num-workers',
        '1', '--no-progress', *opts
    ])
    assert export.returncode == 0, export.stderr
    want, got = _labels(scored), _labels(exported)
    n = len(
        open(
            osp.join(setup['data_root'], 'ImageSets', 'Segmentation',
                     'train.txt')).read().split())
    assert len(want) == n and sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_failed_images_are_reported(run_tool, setup, tmp_path):
    import shutil
    root = str(tmp_path / 'data')
    shutil.copytree(osp.dirname(osp.dirname(setup['data_root'])), root)
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    ids = [ln.strip() for ln in open(setup['list'])]
    with open(osp.join(data_root, 'JPEGImages', ids[1] + '.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    os.remove(osp.join(data_root, 'JPEGImages', ids[2] + '.jpg'))
    # a truncated JPEG (cv2 decodes it with a grey bottom, silently)
    cut = osp.join(data_root, 'JPEGImages', ids[3] + '.jpg')
    data = open(cut, 'rb').read()
    with open(cut, 'wb') as f:
        f.write(data[:len(data) // 2])
    out = str(tmp_path / 'out')
    proc = run_tool([
        TOOL, setup['config'], setup['checkpoint'], '--out', out,
        '--num-workers', '0', '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}'
    ])
    assert proc.returncode == 1, proc.stderr
    summary = json.load(open(osp.join(out, 'export_summary.json')))
    failed = {f.split(':')[0]: f for f in summary['failed_images']}
    assert sorted(failed) == sorted(ids[1:4])
    for i in ids[1:4]:  # each reason names the file
        assert i + '.jpg' in failed[i] and f'{i}: ' in proc.stderr
    assert 'does not exist' in failed[ids[2]]
    assert 'truncated' in failed[ids[3]]
    assert '3 image(s) failed' in proc.stderr
    # the other masks are written, the failed ones are not
    pngs = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    assert pngs == sorted(i + '.png' for i in ids if i not in ids[1:4])
    assert summary['failed'] == 3 and summary['written'] == len(ids) - 3
