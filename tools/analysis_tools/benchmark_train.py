# Copyright (c) mmbas contributors. All rights reserved.
"""Time BAS training steps (forward + backward + SGD step).

Examples::

    python tools/analysis_tools/benchmark_train.py --model wsol-r50 \
        --batch 8 --size 224 --iters 3 --warmup 1 \
        --compare-reference --compare-plain
    python tools/analysis_tools/benchmark_train.py CONFIG --amp
    python tools/analysis_tools/benchmark_train.py --model wsss-r50 \
        --device cuda --batch 16 --size 448 --amp --channels-last \
        --compare-reference --json work_dirs/bench/wsss_amp_cl.json

Every step goes through the optimizer wrapper ``tools/train.py`` would
use: ``OptimWrapper`` (fp32); with ``--amp`` on CUDA mmengine's
``AmpOptimWrapper`` (autocast in ``--amp-dtype``, default float16, with a
dynamic GradScaler), on the CPU ``CPUAmpOptimWrapper`` (bfloat16 autocast).
On CUDA, steps are timed between ``torch.cuda.synchronize`` calls,
``torch.backends.cudnn.benchmark`` is on as in mmseg's runtime config
(``--no-cudnn-benchmark`` turns it off) and the TF32 settings are
PyTorch's defaults (reported in the JSON).

With ``--flops`` the script times nothing: it counts the forward
multiply-accumulates of each part of the model (f1, f2, classifier,
generator) for one image and prints the step cost each mode implies, hence
the best speed-up over the reference any implementation running the same
convolutions can reach on hardware where time follows FLOPs.

With ``--interleave`` the modes run in one process, one step of each in
turn, and the medians are reported: on a shared machine whose speed drifts
this compares the modes fairly (memory is then not measured).

Modes: ``fast`` (the BAS model), ``reference`` (the literal
deepcopy-and-loop implementation of :mod:`mmbas.testing.bas_reference`)
and ``plain`` (a CAM classifier with the same backbone and classifier).
Every mode runs in its own subprocess so that peak memory is measured
cleanly: GPU ``torch.cuda.max_memory_allocated``; CPU the peak resident set
size (``VmHWM`` after resetting it through ``/proc/self/clear_refs``), also
given as the increase over the resident size before the first step.
Weights are random (``init_cfg=None``).
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time

import torch

BUILTIN = {
    'wsol-r50':
    dict(
        type='BAS',
        backbone=dict(type='WSOLResNet', depth=50, init_cfg=None),
        head=dict(
            type='BASHead',
            num_classes=200,
            variant='wsol',
            loss_cls=dict(type='BASCrossEntropyLoss', loss_weight=1.0),
            loss_frg=dict(type='ForegroundGuidanceLoss', loss_weight=0.5),
            loss_bas=dict(type='BASLoss', loss_weight=1.0),
            loss_area=dict(type='AreaLoss', loss_weight=1.5)),
        multi_label=False),
    'wsss-r50':
    dict(
        type='BAS',
        backbone=dict(type='WSSSResNet', depth=50, init_cfg=None),
        head=dict(
            type='BASHead',
            num_classes=20,
            variant='wsss',
            loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0),
            loss_frg=dict(type='ForegroundGuidanceLoss', loss_weight=0.2),
            loss_bas=dict(type='BASLoss', loss_weight=1.0),
            loss_area=dict(type='AreaLoss', loss_weight=1.2)),
        multi_label=True),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='config file (optional)')
    parser.add_argument(
        '--model',
        choices=sorted(BUILTIN),
        help='built-in model instead of a config')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: AmpOptimWrapper (CUDA, GradScaler) or '
        'CPUAmpOptimWrapper (CPU)')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        default=None,
        help='autocast dtype of --amp (default: float16 on CUDA, bfloat16 '
        'on the CPU, whose autocast runs convolutions in bfloat16 only)')
    parser.add_argument(
        '--no-cudnn-benchmark',
        action='store_true',
        help='CUDA: keep torch.backends.cudnn.benchmark off')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compare-reference', action='store_true')
    parser.add_argument('--compare-plain', action='store_true')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu or cuda (default: cuda if available)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--repeat',
        type=int,
        default=1,
        help='run the modes R times, interleaved (fast, reference, plain, '
        'fast, ...), and report for each mode the run with the lowest '
        'mean s/iter: on a shared machine this keeps load spikes from '
        'landing on one mode only')
    parser.add_argument(
        '--interleave',
        action='store_true',
        help='time every mode in one process, their steps alternating, '
        'and report medians (robust to the machine changing speed; no '
        'memory figures)')
    parser.add_argument(
        '--flops',
        action='store_true',
        help='count the forward MACs of f1, f2, classifier and generator '
        'per image and print the cost model of each mode (no timing)')
    parser.add_argument(
        '--json',
        metavar='OUT',
        default=None,
        help='also write the settings and results to this JSON file')
    parser.add_argument('--mode', default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def resolve_device_args(args) -> None:
    """Fill in ``--device`` and ``--amp-dtype`` defaults and check them."""
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: no CUDA device is '
                         'available (torch.cuda.is_available() is False); '
                         'use --device cpu')
    if device.type not in ('cpu', 'cuda'):
        raise SystemExit(f'--device must be cpu or cuda[:N], got '
                         f'{args.device}')
    if args.amp_dtype is None:
        args.amp_dtype = 'float16' if device.type == 'cuda' else 'bfloat16'
    if args.amp and device.type == 'cpu' and args.amp_dtype != 'bfloat16':
        raise SystemExit('--amp on the CPU: CPU autocast runs convolutions '
                         'in bfloat16 only; use --amp-dtype bfloat16')


def model_cfg(args) -> dict:
    if args.config:
        from mmengine.config import Config
        cfg = copy.deepcopy(Config.fromfile(args.config).model.to_dict())
    elif args.model:
        cfg = copy.deepcopy(BUILTIN[args.model])
    else:
        raise SystemExit('give a CONFIG or --model')
    cfg['backbone']['init_cfg'] = None
    cfg['backbone'].pop('pretrained', None)
    cfg.pop('data_preprocessor', None)  # inputs are already normalised
    cfg['init_cfg'] = None
    cfg['channels_last'] = args.channels_last
    return cfg


def plain_cfg(cfg: dict) -> dict:
    head = cfg['head']
    return dict(
        type='CAM',
        backbone=cfg['backbone'],
        head=dict(
            type='CAMHead',
            in_channels_f2=head.get('in_channels_f2'),
            num_classes=head['num_classes'],
            variant=head.get('variant', 'wsol'),
            hidden_channels=head.get('hidden_channels', 1024),
            loss_cls=head['loss_cls']),
        multi_label=cfg.get('multi_label', False),
        channels_last=cfg.get('channels_last', False))


def make_batch(args, num_classes, multi_label, device):
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    samples = []
    for i in range(args.batch):
        k = 1 + (i % 3) if multi_label else 1
        lab = torch.randperm(num_classes, generator=gen)[:k]
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'random_{i}', img_shape=(args.size, args.size)))
        ds.set_data(dict(gt_label=lab.to(device)))
        samples.append(ds)
    return x.to(device), samples


def _rss_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return -1


def make_step(args, mode: str, device: torch.device):
    """Build the model of ``mode`` and return a closure running one training
    step (forward + backward + SGD step) on a fixed batch."""
    from mmseg.registry import MODELS

    from mmbas.testing.bas_reference import reference_bas_losses
    torch.manual_seed(args.seed)
    cfg = model_cfg(args)
    if mode == 'plain':
        cfg = plain_cfg(cfg)
    model = MODELS.build(cfg).to(device).train()
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    wrapper = make_optim_wrapper(args, model, device)
    x, samples = make_batch(args, model.num_classes, model.multi_label, device)

    def step():
        with wrapper.optim_context(model):
            if mode == 'reference':
                first, multi_hot, _ = model.parse_labels(samples, device)
                cls = model._choose_classes(multi_hot, first).tolist()
                losses = reference_bas_losses(model, x, samples, cls)
            else:
                losses = model.loss(x, samples)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        wrapper.update_params(loss)  # backward, step, zero_grad
        return loss

    step.wrapper = wrapper
    return step


def make_optim_wrapper(args, model, device: torch.device):
    """SGD (lr 1e-3, momentum 0.9) in the wrapper ``tools/train.py``
    picks: ``OptimWrapper``; with ``--amp`` ``AmpOptimWrapper`` (CUDA:
    autocast in ``--amp-dtype`` + dynamic GradScaler) or
    ``CPUAmpOptimWrapper`` (CPU: bfloat16 autocast, no scaler)."""
    from mmengine.optim import build_optim_wrapper

    import mmbas  # noqa: F401  (registers CPUAmpOptimWrapper)
    cfg = dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3, momentum=0.9))
    if args.amp and device.type == 'cuda':
        cfg.update(
            type='AmpOptimWrapper', dtype=args.amp_dtype, loss_scale='dynamic')
    elif args.amp:
        cfg.update(type='CPUAmpOptimWrapper', dtype=args.amp_dtype)
    return build_optim_wrapper(model, cfg)


def count_part_macs(args) -> dict:
    """Forward GMACs per image of f1, f2, classifier, the generator (all C
    maps) and the selected-class generator (one map), counted by
    :class:`torch.utils.flop_counter.FlopCounterMode` (FLOPs / 2)."""
    from mmseg.registry import MODELS
    from torch.utils.flop_counter import FlopCounterMode

    import mmbas  # noqa: F401
    torch.manual_seed(args.seed)
    model = MODELS.build(model_cfg(args)).eval()
    head, backbone = model.head, model.backbone
    x = torch.randn(1, 3, args.size, args.size)

    def gmacs(fn, *inputs):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = fn(*inputs)
        return counter.get_total_flops() / 2e9, out

    parts = {}
    parts['f1'], f1 = gmacs(backbone.forward_f1, x)
    parts['f2'], f2 = gmacs(backbone.forward_f2, f1)
    parts['classifier'], _ = gmacs(head.forward_classifier, f2)
    parts['generator'], _ = gmacs(head.forward_generator, f1)
    parts['generator (selected class)'], _ = gmacs(
        head.forward_selected_generator, f1, torch.zeros(1, dtype=torch.long))
    return parts


def step_cost_model(parts: dict) -> dict:
    """Training-step cost of each mode in forward-GMAC units per image.

    A layer's backward costs two forwards (input and weight gradient). Plain
    CAM: 3 (f1 + f2 + cls). BAS adds the generator (3x) and the erased
    forward of f2 + cls with its input gradient (2x); the reference also
    computes the erased copies' weight gradients (3x) and every class's
    generator map, while the fast model convolves the selected class only.
    """
    trunk = parts['f1'] + parts['f2'] + parts['classifier']
    branch = parts['f2'] + parts['classifier']
    return dict(
        plain=3 * trunk,
        fast=3 * trunk + 3 * parts['generator (selected class)'] + 2 * branch,
        reference=3 * trunk + 3 * parts['generator'] + 3 * branch)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _timed(step, device: torch.device):
    """Run ``step()`` between device syncs; return (seconds, its result)."""
    _sync(device)
    t0 = time.perf_counter()
    out = step()
    _sync(device)
    return time.perf_counter() - t0, out


def run_interleaved(args, modes) -> dict:
    """All modes in this process, their steps alternating (fast, reference,
    plain, fast, ...): a change of the machine's speed during the run hits
    every mode alike.

    Returns the median and mean s/iter of each mode (no
    memory figures: the models share the process).
    """
    import mmbas  # noqa: F401
    device = setup_device(args)
    steps = {mode: make_step(args, mode, device) for mode in modes}
    for _ in range(args.warmup):
        for step in steps.values():
            step()
    times = {mode: [] for mode in modes}
    for _ in range(args.iters):
        for mode, step in steps.items():
            times[mode].append(_timed(step, device)[0])
    return {
        mode:
        dict(
            mode=mode,
            sec_per_iter=statistics.median(ts),
            mean_sec_per_iter=sum(ts) / len(ts),
            images_per_s=args.batch / statistics.median(ts))
        for mode, ts in times.items()
    }


def setup_device(args) -> torch.device:
    """The device of ``--device``; on CUDA select it and switch cuDNN's
    autotuner on (mmseg's ``env_cfg.cudnn_benchmark``) unless ``--no-cudnn-
    benchmark``."""
    device = torch.device(args.device)
    if device.type == 'cuda':
        if device.index is not None:  # plain 'cuda': the current device
            torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    return device


def environment(args) -> dict:
    """Settings that the figures depend on, for the JSON report."""
    env = dict(
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        device=args.device)
    if torch.device(args.device).type == 'cuda':
        props = torch.cuda.get_device_properties(torch.device(args.device))
        env.update(
            gpu=props.name,
            gpu_mem_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_benchmark=not args.no_cudnn_benchmark,
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    return env


def run_mode(args) -> dict:
    import mmbas  # noqa: F401
    device = setup_device(args)
    step = make_step(args, args.mode, device)

    for _ in range(args.warmup):
        step()
    _sync(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    rss_before = _rss_kib('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
    except OSError:
        pass
    times = []
    for _ in range(args.iters):
        dt, loss = _timed(step, device)
        times.append(dt)
    result = dict(
        mode=args.mode,
        sec_per_iter=sum(times) / len(times),
        min_sec_per_iter=min(times),
        images_per_s=args.batch * len(times) / sum(times),
        loss=float(loss))
    scaler = getattr(step.wrapper, 'loss_scaler', None)
    if scaler is not None:
        result['loss_scale'] = float(scaler.get_scale())
    if device.type == 'cuda':
        result['peak_mem_mib'] = torch.cuda.max_memory_allocated(
            device) / 2**20
    else:
        peak = _rss_kib('VmHWM')
        result['peak_rss_mib'] = peak / 1024
        result['peak_rss_increase_mib'] = (peak - rss_before) / 1024
    return result


def _run_subprocess(base, mode, device) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__)
           ] + base + ['--mode', mode, '--device', device]
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [
        line for line in out.stdout.splitlines() if line.startswith('RESULT ')
    ]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f'mode {mode} failed')
    return json.loads(lines[-1][len('RESULT '):])


def main(argv=None):
    args = parse_args(argv)
    resolve_device_args(args)
    if args.mode is not None:
        print('RESULT ' + json.dumps(run_mode(args)), flush=True)
        return
    if args.flops:
        parts = count_part_macs(args)
        name = args.config or args.model
        print(f'{name}: forward GMACs per image at {args.size}x{args.size}')
        for part, value in parts.items():
            print(f'  {part:27s} {value:8.3f}')
        cost = step_cost_model(parts)
        print('step cost model (forward-GMAC units per image): ' +
              ', '.join(f'{mode} {value:.1f}' for mode, value in cost.items()))
        print(f"  reference / fast ceiling: "
              f"{cost['reference'] / cost['fast']:.3f}x, BAS / plain floor: "
              f"{cost['fast'] / cost['plain']:.3f}x")
        return
    modes = ['fast']
    if args.compare_reference:
        modes.append('reference')
    if args.compare_plain:
        modes.append('plain')
    name = args.config or args.model
    amp = args.amp_dtype if args.amp else 'off'
    header = (f'{name}: batch {args.batch}, size {args.size}, iters '
              f'{args.iters} (warmup {args.warmup}), device {args.device}, '
              f'amp {amp}, channels_last {args.channels_last}, '
              f'threads {torch.get_num_threads()}')
    if args.interleave:
        results = run_interleaved(args, modes)
        print(header + ', interleaved steps in one process (median s/iter), '
              f'load average {os.getloadavg()[0]:.2f}')
        for mode, r in results.items():
            print(f"  {mode:9s} {r['sec_per_iter']:.3f} s/iter (mean "
                  f"{r['mean_sec_per_iter']:.3f}), "
                  f"{r['images_per_s']:.2f} img/s")
        mem_key = None
    else:
        base = list(argv if argv is not None else sys.argv[1:])
        results = {}
        runs = {mode: [] for mode in modes}
        for _ in range(max(1, args.repeat)):
            for mode in modes:
                runs[mode].append(_run_subprocess(base, mode, args.device))
        for mode in modes:
            results[mode] = min(runs[mode], key=lambda r: r['sec_per_iter'])
            results[mode]['all_sec_per_iter'] = [
                round(r['sec_per_iter'], 4) for r in runs[mode]
            ]
        print(header + f', repeat {args.repeat}, '
              f'load average {os.getloadavg()[0]:.2f}')
        mem_key = 'peak_mem_mib' if args.device.startswith(
            'cuda') else 'peak_rss_mib'
        for mode, r in results.items():
            extra = ''
            if 'peak_rss_increase_mib' in r:
                extra = (f" (+{r['peak_rss_increase_mib']:.0f} MiB over "
                         'pre-step)')
            print(f"  {mode:9s} {r['sec_per_iter']:.3f} s/iter "
                  f"(min {r['min_sec_per_iter']:.3f}), "
                  f"{r['images_per_s']:.2f} img/s, peak {r[mem_key]:.0f} MiB"
                  f'{extra}')
            if len(r['all_sec_per_iter']) > 1:
                print(f"            runs (s/iter): {r['all_sec_per_iter']}")
    ratios = compare_modes(results, mem_key)
    if 'speedup_vs_reference' in ratios:
        mem = (f", peak memory fast/reference: "
               f"{ratios['peak_mem_fast_over_reference']:.3f}"
               if mem_key else '')
        print(f"  speed-up vs reference: "
              f"{ratios['speedup_vs_reference']:.2f}x{mem}")
    if 'bas_over_plain' in ratios:
        print(f"  BAS step / plain step: {ratios['bas_over_plain']:.2f}x")
    print('JSON ' + json.dumps(results))
    if args.json:
        report = dict(
            name=name,
            settings=dict(
                batch=args.batch,
                size=args.size,
                iters=args.iters,
                warmup=args.warmup,
                repeat=args.repeat,
                interleave=args.interleave,
                amp=args.amp,
                amp_dtype=args.amp_dtype if args.amp else None,
                channels_last=args.channels_last,
                seed=args.seed),
            environment=environment(args),
            memory_key=mem_key,
            results=results,
            ratios=ratios)
        write_json(args.json, report)
        print(f'wrote {args.json}')


def compare_modes(results: dict, mem_key) -> dict:
    """Speed-up of the fast step over the reference (reference s/iter / fast
    s/iter), its peak-memory ratio (fast / reference) and the BAS step's cost
    over the plain CAM step, for the modes present."""
    fast = results['fast']
    ratios = {}
    if 'reference' in results:
        ref = results['reference']
        ratios['speedup_vs_reference'] = (
            ref['sec_per_iter'] / fast['sec_per_iter'])
        if mem_key:
            ratios['peak_mem_fast_over_reference'] = (
                fast[mem_key] / ref[mem_key])
    if 'plain' in results:
        ratios['bas_over_plain'] = (
            fast['sec_per_iter'] / results['plain']['sec_per_iter'])
    return ratios


def write_json(path: str, obj) -> None:
    """Write ``obj`` to ``path`` atomically (temp file + os.replace)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


if __name__ == '__main__':
    main()
