# Copyright (c) mmbas contributors. All rights reserved.
"""tools/analysis_tools/device_check.sh and its summary: the targets judged
from hand-made benchmark reports, and (slow) a smoke run end to end on the CPU
that must leave parseable JSON and markdown."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')


def _load(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def summary_mod():
    return _load('device_check_summary')


@pytest.fixture(scope='module')
def bench():
    return _load('benchmark_train')


def _train_report(fast_s, ref_s, fast_mem, ref_mem, batch=16, size=448):
    return dict(
        name='x',
        settings=dict(batch=batch, size=size),
        memory_key='peak_mem_mib',
        results=dict(
            fast=dict(sec_per_iter=fast_s, peak_mem_mib=fast_mem),
            reference=dict(sec_per_iter=ref_s, peak_mem_mib=ref_mem)),
        ratios=dict(
            speedup_vs_reference=ref_s / fast_s,
            peak_mem_fast_over_reference=fast_mem / ref_mem))


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1"
 tests="4" time="1.0">
<testcase classname="tests.a" name="test_ok[cuda]" time="0.1"/>
<testcase classname="tests.a" name="test_ok2[cuda]" time="0.1"/>
<testcase classname="tests.a" name="test_bad[cuda]" time="0.1">
<failure message="boom">trace</failure></testcase>
<testcase classname="tests.a" name="test_skip[cuda]" time="0.0">
<skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_summary_judges_the_targets(summary_mod, tmp_path):
    out = tmp_path / 'dc'
    (out / 'train').mkdir(parents=True)
    reports = {
        # WSSS: fast 1.25x the reference, AMP + channels_last 2.5x fp32,
        # memory below the reference except with AMP
        'wsss-r50_fp32': _train_report(0.40, 0.50, 900, 1000),
        'wsss-r50_amp': _train_report(0.25, 0.30, 1100, 1000),
        'wsss-r50_amp_cl': _train_report(0.16, 0.20, 500, 600),
        # WSOL: AMP + channels_last only 1.6x fp32
        'wsol-r50_fp32': _train_report(0.32, 0.33, 800, 1000, 32, 224),
        'wsol-r50_amp_cl': _train_report(0.20, 0.21, 400, 500, 32, 224),
    }
    for name, rep in reports.items():
        (out / 'train' / f'{name}.json').write_text(json.dumps(rep))
    (out / 'pytest_cuda.xml').write_text(JUNIT)
    (out / 'steps.tsv').write_text(
        'step\tstatus\trc\tseconds\tlog\n'
        'pytest_cuda\tok\t0\t12\tlogs/pytest_cuda.log\n'
        'export\tskipped\t\t0\tlogs/export.log\n')
    summary = summary_mod.summarise(str(out), 'cpu', smoke=False, elapsed=42)
    met = {
        (t['model'], t['target'].split(',')[0]): (t['value'], t['met'])
        for t in summary['targets']
    }
    value, ok = met[('wsss-r50', 'fast step / reference (fp32)')]
    assert value == pytest.approx(1.25) and ok is True
    value, ok = met[('wsss-r50', 'AMP + channels_last / fp32 eager')]
    assert value == pytest.approx(2.5) and ok is True
    value, ok = met[('wsol-r50', 'AMP + channels_last / fp32 eager')]
    assert value == pytest.approx(1.6) and ok is False
    assert met[('wsss-r50',
                'peak memory fast / reference (AMP)')] == (pytest.approx(1.1),
                                                           False)
    assert met[('wsss-r50', 'peak memory fast / reference (fp32)')][1]
    # the reference speed-up target applies to WSSS only
    assert ('wsol-r50', 'fast step / reference (fp32)') not in met
    assert summary['tests']['passed'] == 2
    assert summary['tests']['failed_tests'] == ['tests.a::test_bad[cuda]']
    assert summary['steps'][1]['status'] == 'skipped'
    assert not summary['all_steps_ok']
    assert json.loads((out / 'summary.json').read_text()) == summary
    md = (out / 'summary.md').read_text()
    assert '| wsss-r50 | AMP + channels_last | 16 x 448 | 0.1600 |' in md
    assert 'failed: `tests.a::test_bad[cuda]`' in md
    assert 'No export report.' in md
    # a smoke run judges nothing
    smoke = summary_mod.summarise(str(out), 'cpu', smoke=True)
    assert all(t['met'] is None for t in smoke['targets'])
    assert '**Smoke run**' in (out / 'summary.md').read_text()


def test_benchmark_device_arguments(bench):
    args = bench.parse_args(['--model', 'wsss-r50', '--device', 'cpu'])
    bench.resolve_device_args(args)
    assert args.amp_dtype == 'bfloat16'
    with pytest.raises(SystemExit, match='bfloat16 only'):
        bench.resolve_device_args(
            bench.parse_args([
                '--model', 'wsss-r50', '--device', 'cpu', '--amp',
                '--amp-dtype', 'float16'
            ]))
    if not bench.torch.cuda.is_available():
        with pytest.raises(SystemExit, match='no CUDA device'):
            bench.resolve_device_args(
                bench.parse_args(['--model', 'wsss-r50', '--device', 'cuda']))
    with pytest.raises(SystemExit, match='cpu or cuda'):
        bench.resolve_device_args(
            bench.parse_args(['--model', 'wsss-r50', '--device', 'meta']))


def test_benchmark_optim_wrappers(bench):
    import torch.nn as nn
    model = nn.Conv2d(3, 4, 3)
    args = bench.parse_args(['--model', 'wsss-r50', '--device', 'cpu'])
    bench.resolve_device_args(args)
    cpu = bench.torch.device('cpu')
    assert type(bench.make_optim_wrapper(args, model,
                                         cpu)).__name__ == 'OptimWrapper'
    args.amp = True
    wrapper = bench.make_optim_wrapper(args, model, cpu)
    assert type(wrapper).__name__ == 'CPUAmpOptimWrapper'
    with wrapper.optim_context(model):
        out = model(bench.torch.randn(1, 3, 8, 8))
    assert out.dtype == bench.torch.bfloat16


@pytest.mark.slow
def test_smoke_run_end_to_end(run_tool, tmp_path):
    out = tmp_path / 'device_check'
    result = run_tool([osp.join(TOOLS, 'device_check.sh'), '--smoke'],
                      env=dict(DEVICE='cpu', OUT=str(out)),
                      timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['smoke'] and summary['all_steps_ok']
    assert [r['step'] for r in summary['steps']] == [
        'pytest_cuda', 'train_wsss-toy-r18_fp32', 'train_wsss-toy-r18_amp',
        'train_wsss-toy-r18_amp_cl', 'export'
    ]
    # on the CPU every cuda-marked test is skipped, none fails
    tests = summary['tests']
    assert tests['tests'] > 0 and tests['skipped'] == tests['tests']
    runs = summary['train']['wsss-toy-r18']
    assert set(runs) == {'fp32', 'amp', 'amp_cl'}
    assert runs['amp_cl']['settings']['channels_last']
    assert runs['amp']['settings']['amp_dtype'] == 'bfloat16'
    for rep in runs.values():
        assert set(rep['results']) == {'fast', 'reference'}
        assert rep['ratios']['speedup_vs_reference'] > 0
    assert [r['mode']
            for r in summary['export']['results']] == ['naive', 'fast']
    assert len(summary['targets']) == 5
    md = (out / 'summary.md').read_text()
    assert md.startswith('# mmbas device check')
    for section in ('## Steps', '## CUDA-marked tests',
                    '## Training step (fast vs reference)',
                    '## Pseudo-label export', '## Targets'):
        assert section in md
