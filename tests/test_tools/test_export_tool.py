# Copyright (c) mmbas contributors. All rights reserved.
"""tools/export_pseudo_labels.py and tools/dist_export.sh end to end on the
toy VOC (CPU, gloo): 2 ranks split the list and write exactly the files of
a single-process run; user errors end with one line and exit status 2."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from mmbas.pseudo.export_testing import make_export_setup

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'export_pseudo_labels.py')
DIST = osp.join(ROOT, 'tools', 'dist_export.sh')
ARGS = [
    '--scales', '1.0', '0.5', '--num-workers', '0', '--save-scores',
    '--no-progress'
]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_export_setup(str(tmp_path_factory.mktemp('tool')), num_train=6)


def _env():
    # the shell launchers run $PYTHON: this interpreter, venv activated or
    # not
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHON=sys.executable)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _files(path):
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path)) if f.endswith(('.png', '.npz'))
    }


def test_two_ranks_equal_single_process(setup, tmp_path):
    single, double = str(tmp_path / 'one'), str(tmp_path / 'two')
    base = [setup['config'], setup['checkpoint']]
    # the single-process reference runs in-process (same code path as the
    # tool) with one thread, like every torchrun rank (OMP_NUM_THREADS=1)
    import torch

    from mmbas.pseudo.export import main
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main([*base, '--out', single, *ARGS]) == 0
    finally:
        torch.set_num_threads(threads)
    two = subprocess.run(['bash', DIST, *base, '2', '--out', double, *ARGS],
                         env=dict(_env(), PORT=_free_port()),
                         capture_output=True,
                         text=True,
                         timeout=300)
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


def test_cli_user_errors(setup, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    wrong = subprocess.run([
        sys.executable, TOOL, setup['config'], setup['bad_checkpoint'],
        '--out',
        str(tmp_path / 'out')
    ],
                           env=_env(),
                           capture_output=True,
                           text=True,
                           timeout=300)
    assert wrong.returncode == 2
    line = [ln for ln in wrong.stderr.splitlines() if 'error:' in ln]
    assert len(line) == 1 and setup['bad_checkpoint'] in line[0]
    assert 'does not match the model' in line[0]
    assert not [f for f in os.listdir(tmp_path / 'out') if f.endswith('.png')
                ]  # failed before any work
