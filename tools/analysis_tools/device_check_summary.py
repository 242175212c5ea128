# Copyright (c) mmbas contributors. All rights reserved.
"""Summarise a device check: ``summary.json`` and ``summary.md``.

Reads what ``tools/analysis_tools/device_check.sh`` left in its output
folder: ``steps.tsv`` (status and duration of every step),
``pytest_cuda.xml`` (JUnit report of ``pytest -m cuda``),
``train/<model>_<variant>.json`` (``benchmark_train.py --json``; variants
``fp32``, ``amp``, ``amp_cl``) and ``export.json``
(``benchmark_export.py --json``), and judges the targets of issue 15:

* the fast BAS step at least 1.2x the slow reference on WSSS (fp32);
* AMP + channels_last at least 2x the fp32 eager step (fast mode);
* the fast step's peak memory below the reference's (every variant).

In a smoke run (toy sizes) the figures are computed but no target is
judged (``met`` is null).

Example::

    python tools/analysis_tools/device_check_summary.py \\
        work_dirs/device_check --device cuda --smoke 0 --elapsed 410
"""
import argparse
import csv
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional

VARIANTS = ('fp32', 'amp', 'amp_cl')
VARIANT_NAMES = dict(fp32='fp32', amp='AMP', amp_cl='AMP + channels_last')
MIN_SPEEDUP_VS_REFERENCE = 1.2
MIN_AMP_CL_SPEEDUP = 2.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder of device_check.sh')
    parser.add_argument('--device', default='cuda')
    parser.add_argument(
        '--smoke', type=int, default=0, help='1: toy sizes, judge no target')
    parser.add_argument(
        '--elapsed',
        type=float,
        default=None,
        help='wall time of the check so far, seconds')
    return parser.parse_args(argv)


def read_steps(out_dir: str) -> List[dict]:
    """Rows of ``steps.tsv`` (step, status, rc, seconds, log)."""
    path = osp.join(out_dir, 'steps.tsv')
    if not osp.exists(path):
        return []
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    for row in rows:
        row['seconds'] = float(row['seconds'] or 0)
        row['rc'] = int(row['rc']) if row['rc'] else None
    return rows


def read_junit(path: str) -> Optional[dict]:
    """Counts and failed test ids of a pytest JUnit XML report."""
    if not osp.exists(path):
        return None
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.iter('testsuite')
    counts = dict(tests=0, failures=0, errors=0, skipped=0)
    failed = []
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
        for case in suite.iter('testcase'):
            if case.find('failure') is not None or case.find(
                    'error') is not None:
                failed.append(f"{case.get('classname')}::{case.get('name')}")
    counts['passed'] = (
        counts['tests'] - counts['failures'] - counts['errors'] -
        counts['skipped'])
    counts['failed_tests'] = failed
    return counts


def read_train(out_dir: str) -> Dict[str, Dict[str, dict]]:
    """``{model: {variant: benchmark_train report}}`` of ``train/``."""
    folder = osp.join(out_dir, 'train')
    reports: Dict[str, Dict[str, dict]] = {}
    if not osp.isdir(folder):
        return reports
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith('.json'):
            continue
        stem = fname[:-len('.json')]
        for variant in sorted(VARIANTS, key=len, reverse=True):
            if stem.endswith('_' + variant):
                model = stem[:-len(variant) - 1]
                with open(osp.join(folder, fname)) as f:
                    reports.setdefault(model, {})[variant] = json.load(f)
                break
    return reports


def evaluate_targets(train: Dict[str, Dict[str, dict]],
                     smoke: bool) -> List[dict]:
    """The issue's targets on the timed models (``met`` None in smoke runs and
    where a figure is missing)."""
    targets = []

    def add(name, model, value, threshold, passed):
        targets.append(
            dict(
                target=name,
                model=model,
                value=value,
                threshold=threshold,
                met=None if smoke or value is None else bool(passed)))

    for model, runs in sorted(train.items()):
        fp32 = runs.get('fp32')
        if 'wsss' in model:
            value = None
            if fp32 is not None:
                value = fp32['ratios'].get('speedup_vs_reference')
            add(
                'fast step / reference (fp32), >= '
                f'{MIN_SPEEDUP_VS_REFERENCE}x', model, value,
                MIN_SPEEDUP_VS_REFERENCE, value is not None
                and value >= MIN_SPEEDUP_VS_REFERENCE)
        value = None
        if fp32 is not None and 'amp_cl' in runs:
            value = (
                fp32['results']['fast']['sec_per_iter'] /
                runs['amp_cl']['results']['fast']['sec_per_iter'])
        add(f'AMP + channels_last / fp32 eager, >= {MIN_AMP_CL_SPEEDUP}x',
            model, value, MIN_AMP_CL_SPEEDUP, value is not None
            and value >= MIN_AMP_CL_SPEEDUP)
        for variant in VARIANTS:
            if variant not in runs:
                continue
            value = runs[variant]['ratios'].get('peak_mem_fast_over_reference')
            add(
                f'peak memory fast / reference ({VARIANT_NAMES[variant]}), '
                '< 1', model, value, 1.0, value is not None and value < 1.0)
    return targets


def environment(device: str) -> dict:
    import torch
    env = dict(
        torch=torch.__version__,
        device=device,
        cuda_available=torch.cuda.is_available())
    if device.startswith('cuda') and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.device(device))
        env.update(
            gpu=props.name,
            cuda=torch.version.cuda,
            gpu_mem_gib=round(props.total_memory / 2**30, 1))
    return env


def _fmt(value, spec='.3f', none='-'):
    return none if value is None else format(value, spec)


def render_markdown(summary: dict) -> str:
    env = summary['environment']
    lines = ['# mmbas device check', '']
    where = env.get('gpu', env['device'])
    lines.append(f"Device: {where} (torch {env['torch']}" +
                 (f", CUDA {env['cuda']}" if env.get('cuda') else '') +
                 f"); wall time {_fmt(summary['elapsed_s'], '.0f')} s.")
    if summary['smoke']:
        lines += [
            '', '**Smoke run** (toy sizes): the figures check the '
            'mechanics only; no target is judged.'
        ]
    lines += [
        '', '## Steps', '', '| step | status | seconds |', '|---|---|---|'
    ]
    for row in summary['steps']:
        lines.append(f"| {row['step']} | {row['status']} | "
                     f"{row['seconds']:.0f} |")
    tests = summary['tests']
    lines += ['', '## CUDA-marked tests', '']
    if tests is None:
        lines.append('No JUnit report (the pytest step did not run).')
    else:
        lines.append(f"{tests['passed']} passed, {tests['failures']} "
                     f"failed, {tests['errors']} errors, {tests['skipped']} "
                     'skipped.')
        for name in tests['failed_tests']:
            lines.append(f'- failed: `{name}`')
    lines += [
        '', '## Training step (fast vs reference)', '',
        '| model | precision | batch x size | fast s/iter | '
        'reference s/iter | speed-up | fast peak MiB | reference '
        'peak MiB | peak ratio |', '|---|---|---|---|---|---|---|---|'
        '---|'
    ]
    for model, runs in sorted(summary['train'].items()):
        for variant in VARIANTS:
            if variant not in runs:
                continue
            rep = runs[variant]
            res, key = rep['results'], rep['memory_key']
            fast, ref = res['fast'], res.get('reference', {})
            settings = rep['settings']
            lines.append(
                f"| {model} | {VARIANT_NAMES[variant]} | "
                f"{settings['batch']} x {settings['size']} | "
                f"{_fmt(fast['sec_per_iter'], '.4f')} | "
                f"{_fmt(ref.get('sec_per_iter'), '.4f')} | "
                f"{_fmt(rep['ratios'].get('speedup_vs_reference'), '.2f')} "
                f"| {_fmt(fast.get(key), '.0f')} | "
                f"{_fmt(ref.get(key), '.0f')} | "
                f"{_fmt(rep['ratios'].get('peak_mem_fast_over_reference'))}"
                ' |')
    export = summary['export']
    lines += ['', '## Pseudo-label export', '']
    if export is None:
        lines.append('No export report.')
    else:
        s = export['settings']
        lines += [
            f"{s['num_images']} images {s['size'][0]}x{s['size'][1]}, "
            f"scales {s['scales']}, flip {s['flip']}, device {s['device']}.",
            '', '| mode | images/s | s/image | peak GPU MiB | agreement |',
            '|---|---|---|---|---|'
        ]
        for res in export['results']:
            lines.append(f"| {res['mode']} | {res['images_per_s']:.3f} | "
                         f"{res['s_per_image']:.3f} | "
                         f"{_fmt(res.get('peak_gpu_mem_mib'), '.0f')} | "
                         f"{100 * res['agreement']:.3f} % |")
    lines += [
        '', '## Targets', '', '| target | model | value | met |',
        '|---|---|---|---|'
    ]
    for t in summary['targets']:
        met = {None: 'not judged', True: 'yes', False: 'no'}[t['met']]
        lines.append(f"| {t['target']} | {t['model']} | "
                     f"{_fmt(t['value'])} | {met} |")
    return '\n'.join(lines) + '\n'


def _write(path: str, text: str) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def summarise(out_dir: str,
              device: str,
              smoke: bool,
              elapsed: Optional[float] = None) -> dict:
    """Build the summary of ``out_dir`` and write ``summary.json`` and
    ``summary.md`` there; return the summary."""
    train = read_train(out_dir)
    export = None
    if osp.exists(osp.join(out_dir, 'export.json')):
        with open(osp.join(out_dir, 'export.json')) as f:
            export = json.load(f)
    steps = read_steps(out_dir)
    summary = dict(
        smoke=bool(smoke),
        elapsed_s=elapsed,
        environment=environment(device),
        steps=steps,
        all_steps_ok=bool(steps) and all(r['status'] == 'ok' for r in steps),
        tests=read_junit(osp.join(out_dir, 'pytest_cuda.xml')),
        train=train,
        export=export,
        targets=evaluate_targets(train, bool(smoke)))
    _write(osp.join(out_dir, 'summary.json'), json.dumps(summary, indent=2))
    _write(osp.join(out_dir, 'summary.md'), render_markdown(summary))
    return summary


def main(argv=None):
    args = parse_args(argv)
    if not osp.isdir(args.out_dir):
        raise SystemExit(f'{args.out_dir}: no such folder (the OUT of '
                         'tools/analysis_tools/device_check.sh)')
    summary = summarise(args.out_dir, args.device, args.smoke, args.elapsed)
    print(render_markdown(summary))


if __name__ == '__main__':
    main()
