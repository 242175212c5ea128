# Copyright (c) mmbas contributors. All rights reserved.
"""tools/analysis_tools/benchmark_train.py: the FLOP count and cost model
behind the speed-up ceiling in docs/benchmarks.md, and a one-step run of the
interleaved timing on the toy ResNet-18 config (slow; mechanics only:

timings are never asserted) and its JSON report.
"""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_train.py')
TOY_R18 = osp.join(ROOT, 'configs', 'toy', 'bas_voc_toy_r18.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_train', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_cost_model_by_hand(bench):
    parts = {
        'f1': 1.0,
        'f2': 2.0,
        'classifier': 3.0,
        'generator': 4.0,
        'generator (selected class)': 0.5
    }
    cost = bench.step_cost_model(parts)
    # plain: 3 * (1 + 2 + 3); fast adds 3 * 0.5 + 2 * (2 + 3); the
    # reference adds 3 * 4 + 3 * (2 + 3)
    assert cost == dict(plain=18.0, fast=29.5, reference=45.0)


def test_generator_macs_counted_exactly(bench):
    args = bench.parse_args([TOY_R18, '--size', '64', '--device', 'cpu'])
    parts = bench.count_part_macs(args)
    # toy R18 WSSS: F1 = layer3, 256 channels at stride 16 -> 4x4; the
    # generator is a 3x3 conv to the 20 VOC classes
    h1 = w1 = 64 // 16
    full = 20 * 256 * 9 * h1 * w1 / 1e9
    assert parts['generator'] == pytest.approx(full, rel=1e-9)
    assert parts['generator (selected class)'] == pytest.approx(
        full / 20, rel=1e-9)
    assert all(parts[k] > 0 for k in ('f1', 'f2', 'classifier'))


@pytest.mark.slow
def test_interleaved_run_reports_every_mode(run_tool, tmp_path):
    out = tmp_path / 'bench.json'
    result = run_tool([
        SCRIPT, TOY_R18, '--size', '64', '--batch', '2', '--iters', '1',
        '--warmup', '0', '--device', 'cpu', '--compare-reference',
        '--compare-plain', '--interleave', '--json',
        str(out)
    ],
                      timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    line = [x for x in result.stdout.splitlines() if x.startswith('JSON ')]
    report = json.loads(line[-1][len('JSON '):])
    assert set(report) == {'fast', 'reference', 'plain'}
    assert all(r['sec_per_iter'] > 0 for r in report.values())
    assert 'speed-up vs reference' in result.stdout
    saved = json.loads(out.read_text())
    assert saved['results'] == report
    assert saved['settings']['interleave'] and saved['memory_key'] is None
    assert saved['ratios']['speedup_vs_reference'] == pytest.approx(
        report['reference']['sec_per_iter'] / report['fast']['sec_per_iter'])
    assert saved['environment']['device'] == 'cpu'
