# Copyright (c) mmbas contributors. All rights reserved.
"""tools/analysis_tools/benchmark_random_walk.py: its dense reference is IRN's
walk, and a tiny run reports every mode (timings never asserted)."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_random_walk.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_random_walk',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dense_reference_is_the_walk(bench):
    from mmbas.pseudo.random_walk import random_walk
    maps, edge = bench.make_inputs((40, 36), 2, seed=3)
    assert maps.shape == (2, 10, 9) and edge.shape == (10, 9)
    assert float(edge.max()) > 0.5 and float(edge.min()) == 0
    times = {}
    dense = bench.dense_reference_walk(maps, edge, 10, 8, 5, times=times)
    sparse = random_walk(maps[None], edge[None, None])[0]
    torch.testing.assert_close(dense, sparse, rtol=1e-4, atol=1e-6)
    assert len(times['squarings_s']) == 8 and times['build_s'] > 0


def test_step_profile(bench):
    args = bench.parse_args(
        ['--size', '40', '36', '--modes', 'step', '--step-repeats', '2'])
    maps, edge = bench.make_inputs((36, 40), 3, seed=0)
    threads = torch.get_num_threads()
    res = bench.profile_step(args, maps, edge)
    assert torch.get_num_threads() == threads
    assert res['walk_threads'] == 1 and res['threads'] == threads
    assert res['grid'] == [9, 10] and 0 < res['nnz'] <= 69 * 90
    for part in ('step', 'step_fp32', 'step_out', 'gather', 'zero_output',
                 'build'):
        assert 0 < res[part + '_ms'] <= 2 * res[part + '_mean_ms']
        assert res[part + '_cpu_ms'] > 0
    with pytest.raises(SystemExit):
        bench.parse_args(['--walk-threads', '-1'])


@pytest.mark.slow
def test_tiny_run_reports_every_mode(run_tool, tmp_path):
    result = run_tool([
        SCRIPT, '--size', '24', '20', '--modes', 'sparse', 'sparse-fp32',
        'dense', '--repeats', '1', '--threads', '1', '--work-dir',
        str(tmp_path)
    ],
                      timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    line = [x for x in result.stdout.splitlines() if x.startswith('JSON ')]
    report = json.loads(line[-1][len('JSON '):])
    assert set(report) == {'sparse', 'sparse-fp32', 'dense'}
    assert report['sparse']['grid'] == [5, 6]
    for mode in ('sparse-fp32', 'dense'):
        assert report[mode]['equal_labels'] == 1.0
        assert report[mode]['max_abs_diff'] < 1e-4
        assert report[mode]['speedup_of_first'] > 0
    assert all(r['s_per_image'] > 0 and r['peak_mib'] >= 0
               for r in report.values())
    assert report['sparse']['walk_threads'] == 1
    assert report['dense']['differing_pixels'] == 0
    for r in report.values():
        assert r['denormals'] == 'flush'
        load = r['load_average']
        assert 0 <= load['min'] <= load['mean'] <= load['max']
    assert (tmp_path / 'dense_labels.npy').exists()
