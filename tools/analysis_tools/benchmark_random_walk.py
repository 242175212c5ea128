# Copyright (c) mmbas contributors. All rights reserved.
"""Time and peak memory of IRN's random walk: sparse steps vs dense matrix.

Examples (VOC and COCO image sizes, 3 classes, BAS's IRN settings)::

    python tools/analysis_tools/benchmark_random_walk.py --size 500 375 \
        --modes sparse dense
    python tools/analysis_tools/benchmark_random_walk.py --size 640 480 \
        --modes sparse --repeats 5
    python tools/analysis_tools/benchmark_random_walk.py --size 500 375 \
        --modes dense --dense-squarings 1   # time 1 squaring, extrapolate
    python tools/analysis_tools/benchmark_random_walk.py --size 500 375 \
        --modes sparse --threads 2 --walk-threads 0   # torch's 2 threads
    python tools/analysis_tools/benchmark_random_walk.py --size 500 375 \
        --modes step --threads 2 --walk-threads 0     # one step's parts

Modes (each in its own subprocess, so that peak memory is clean; the
subprocesses run one after the other):

* ``sparse``: :func:`mmbas.pseudo.random_walk.refine_maps`, the exact
  sparse iteration (CSR transition, ``2 ** exp_times`` steps, float64,
  ``--walk-threads`` intra-op threads: 1 by default as in the library, 0
  for torch's setting of ``--threads``);
* ``sparse-fp32``: the same with the steps in float32;
* ``dense``: the reference IRN inference: the same half-plane affinities
  scattered into a dense ``n x n`` matrix ``A`` (``aff ** beta``, both
  directions, 1 on the diagonal), ``T = A / column sums``, ``exp_times``
  squarings with ``torch.matmul`` in float32, ``y @ T``. As the powers
  of ``T`` spread, small entries become float32 subnormals, and CPU GEMMs
  on them are much slower (a squaring up to 60x in docs/benchmarks.md), so
  every mode runs with ``torch.set_flush_denormal(True)`` by default (the
  fair reference; GPUs have no such penalty). ``--denormals keep`` times
  the plain CPU reference instead.

Every mode does the whole refinement of one image (maps ** 1.5, walk, x4
bilinear upsampling, crop, division by the global max) and its label map
(argmax over [0.22, maps]); the time is per image (median over
``--repeats`` runs after a warm-up on a 6 x 6 grid; the CPU time of the
process, all threads, is given too: on a shared, oversubscribed machine it
is the steadier measure of the work). The inputs are random
but smooth (fixed ``--seed``): class maps from bilinearly upsampled coarse
noise, a boundary map with ridges along the level set of another smooth
field. The parent compares every mode's refined maps and labels with the
first mode's (fraction of equal labels, max abs difference of the maps).

``step`` is no refinement but a profile of the sparse walk's parts, with
the same threads: median and mean wall time and mean CPU time (over
``--step-repeats`` calls; build: a tenth of them) of one step
``torch.sparse.mm(M, Y)``, of alternatives (float32, a product into a kept
buffer, a gather over the fixed-width neighbour table), of a zeroed tensor
the size of its output (each step allocates and zeroes one) and of the
transition build (see :func:`profile_step`).

The parent samples the load average (1 min) every few seconds while each
mode runs and reports its range: on a shared machine wall times depend on
it.

Peak memory: CPU the peak resident set size of the mode's process
(``VmHWM``, reset to the current RSS through ``/proc/self/clear_refs``
after the inputs are made) and its increase over the RSS before the runs;
CUDA ``torch.cuda.max_memory_allocated`` minus the memory allocated before.

``--dense-squarings S`` (S < exp_times) stops the dense reference after S
squarings: its time is then *extrapolated* as build + exp_times x (median
squaring) + rest, its memory is that of the S squarings (each squaring
holds the same two n x n matrices), and it has no labels to compare.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_train import _rss_kib, _sync

MODES = ('sparse', 'sparse-fp32', 'dense', 'step')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[500, 375],
        metavar=('W', 'H'),
        help='image size (VOC 500 375, '
        'COCO 640 480); the walk runs at stride 4')
    parser.add_argument('--classes', type=int, default=3)
    parser.add_argument(
        '--modes', nargs='+', default=['sparse', 'dense'], choices=MODES)
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed runs per mode (dense: at most 1)')
    parser.add_argument(
        '--step-repeats',
        type=int,
        default=100,
        help='timed calls per part of the step profile (mode step)')
    parser.add_argument('--beta', type=float, default=10)
    parser.add_argument('--exp-times', type=int, default=8)
    parser.add_argument('--radius', type=int, default=5)
    parser.add_argument(
        '--dense-squarings',
        type=int,
        default=None,
        help='stop the dense reference after this many '
        'squarings and extrapolate its time')
    parser.add_argument(
        '--walk-threads',
        type=int,
        default=1,
        help='intra-op threads of the sparse walk on the CPU '
        '(num_threads of refine_maps; default 1 as in the library); 0: '
        'torch\'s setting (--threads)')
    parser.add_argument(
        '--denormals',
        choices=('flush', 'keep'),
        default='flush',
        help='flush subnormal floats to zero (default; the dense CPU '
        'reference is up to ~100x slower on them) or keep them')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', help='keep the modes\' outputs here')
    parser.add_argument('--mode', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.walk_threads < 0:
        parser.error('--walk-threads must be >= 0 (0: torch\'s setting)')
    return args


# ----------------------------------------------------------------------
def _smooth(gen, shape, cells):
    """(H, W) smooth random field in [0, 1]: a coarse grid of ``cells`` pixels
    per node, bilinearly upsampled."""
    import torch.nn.functional as F
    coarse = torch.rand(
        (1, 1, max(2, shape[0] // cells + 2), max(2, shape[1] // cells + 2)),
        generator=gen)
    return F.interpolate(
        coarse, size=shape, mode='bilinear', align_corners=True)[0, 0]


def make_inputs(size_hw, classes, seed):
    """Grid maps (K, h, w) in [0, 1] and edge (h, w) in [0, 1]."""
    from mmbas.pseudo.random_walk import irn_grid_size
    h, w = irn_grid_size(size_hw)
    gen = torch.Generator().manual_seed(seed)
    maps = torch.stack([_smooth(gen, (h, w), 12) for _ in range(classes)])
    maps = (maps - 0.3).clamp_min(0) / 0.7
    field = _smooth(gen, (h, w), 20)
    edge = (1 - 8 * (field - 0.5).abs()).clamp(0, 1)
    return maps, edge


def dense_reference_walk(maps,
                         edge,
                         beta,
                         exp_times,
                         radius,
                         squarings=None,
                         times=None,
                         progress=False):
    """IRN's dense walk: (K, h, w) maps, (h, w) edge -> (K, h, w).

    ``squarings`` < exp_times stops early (timing only); ``times`` (dict)
    receives the build time and the time of every squaring; ``progress``
    prints the time of every squaring to stderr.
    """
    from mmbas.models.utils import (boundary_to_affinity, pair_offsets,
                                    pair_valid_mask)
    dev = maps.device
    squarings = exp_times if squarings is None else squarings
    t0 = time.perf_counter()
    k, h, w = maps.shape
    n = h * w
    aff = boundary_to_affinity(edge[None, None], radius)[0].pow(beta)
    valid = pair_valid_mask((h, w), radius, device=dev)[0]
    src = torch.arange(n, device=dev).view(h, w)
    a = torch.eye(n, device=dev)
    for i, (dy, dx) in enumerate(pair_offsets(radius)):
        rows = src[valid[i]]
        cols = rows + dy * w + dx
        a[rows, cols] = aff[i][valid[i]]
        a[cols, rows] = aff[i][valid[i]]
    trans = a / a.sum(0, keepdim=True)
    del a
    _sync(dev)
    build_s = time.perf_counter() - t0
    sq = []
    for i in range(squarings):
        t1 = time.perf_counter()
        trans = torch.matmul(trans, trans)
        _sync(dev)
        sq.append(time.perf_counter() - t1)
        if progress:
            print(
                f'  dense: squaring {i + 1}/{squarings} {sq[-1]:.2f} s',
                file=sys.stderr,
                flush=True)
    y = (maps * (1 - edge)).reshape(k, n)
    out = (y @ trans).reshape(k, h, w)
    if times is not None:
        times.update(build_s=build_s, squarings_s=sq)
    return out


def refine(mode, maps, edge, size_hw, args, times=None, progress=False):
    """One image: grid maps + edge -> (refined (K, H, W), labels (H, W))."""
    from mmbas.pseudo.random_walk import (refine_maps, refined_to_label,
                                          upsample_walked)
    labels = list(range(maps.shape[0]))
    if mode == 'dense':
        walked = dense_reference_walk(
            maps.pow(1.5), edge, args.beta, args.exp_times, args.radius,
            args.dense_squarings, times, progress)
        out = upsample_walked(walked, size_hw)
    else:
        dtype = torch.float64 if mode == 'sparse' else torch.float32
        out = refine_maps(
            maps,
            edge,
            size_hw,
            args.beta,
            args.exp_times,
            args.radius,
            dtype=dtype,
            num_threads=args.walk_threads or None)
    label = refined_to_label(out, labels)
    return out, label


def _median_call(fn, repeats, dev):
    """Median wall, mean wall and mean CPU milliseconds of ``fn()`` over
    ``repeats`` calls (after 3 untimed ones)."""
    for _ in range(3):
        fn()
    walls, c0 = [], time.process_time()
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / repeats
    return (1e3 * statistics.median(walls), 1e3 * statistics.mean(walls),
            1e3 * cpu)


def _neighbour_table(trans):
    """The rows of CSR ``trans`` (n, n) as a fixed-width table: column indices
    (n, W) (``n`` where a row has fewer entries) and values (n, W)."""
    n = trans.shape[0]
    crow = trans.crow_indices().long()
    counts = crow.diff()
    width = int(counts.max())
    rows = torch.repeat_interleave(
        torch.arange(n, device=trans.device), counts)
    pos = torch.arange(rows.numel(), device=trans.device) - crow[rows]
    idx = torch.full((n, width), n, dtype=torch.long, device=trans.device)
    idx[rows, pos] = trans.col_indices().long()
    vals = trans.values().new_zeros((n, width))
    vals[rows, pos] = trans.values()
    return idx, vals


def profile_step(args, maps, edge) -> dict:
    """Mode ``step``: the parts of one walk step and alternatives to it, with
    the walk's threads.

    Parts (float64 unless named): ``step`` (``torch.sparse.mm``, the walk's
    step), ``step_fp32``, ``step_out`` (``torch.addmm`` into a kept
    buffer: no allocation), ``gather`` (the fixed-width neighbour table:
    ``(vals * y[idx]).sum(1)``), ``zero_output`` (a zeroed tensor the
    size of the step's output) and ``build`` (the transition). All step
    variants give the same product (checked).
    """
    from mmbas.pseudo.random_walk import sparse_transition, walk_threads
    dev = maps.device
    repeats = max(1, args.step_repeats)
    maps, edge = maps.double().pow(1.5), edge.double()
    with torch.no_grad(), walk_threads(args.walk_threads or None, dev):
        walk = torch.get_num_threads()

        def build_transition():
            return sparse_transition(edge[None, None], args.beta, args.radius)

        trans = build_transition()
        col = (maps * (1 - edge)).permute(1, 2, 0).reshape(-1, len(maps))
        col = col.contiguous()
        trans32, col32 = trans.to(torch.float32), col.float()
        buf = torch.empty_like(col)
        idx, vals = _neighbour_table(trans)
        padded = torch.cat([col, col.new_zeros((1, col.shape[1]))])
        variants = dict(
            step=lambda: torch.sparse.mm(trans, col),
            step_fp32=lambda: torch.sparse.mm(trans32, col32),
            step_out=lambda: torch.addmm(col, trans, col, beta=0, out=buf),
            gather=lambda: (vals.unsqueeze(2) * padded[idx]).sum(1))
        ref = variants['step']()
        for name, fn in variants.items():
            torch.testing.assert_close(
                fn().double(), ref, rtol=1e-5, atol=1e-7, msg=name)
        times = {
            name: _median_call(fn, repeats, dev)
            for name, fn in variants.items()
        }
        times['zero_output'] = _median_call(lambda: torch.zeros_like(col),
                                            repeats, dev)
        times['build'] = _median_call(build_transition, max(1, repeats // 10),
                                      dev)
    result = dict(
        mode='step',
        threads=torch.get_num_threads(),
        walk_threads=walk,
        denormals=args.denormals,
        grid=list(maps.shape[1:]),
        nnz=int(trans.values().numel()),
        repeats=repeats)
    for name, (median, mean, cpu) in times.items():
        result.update({
            name + '_ms': median,
            name + '_mean_ms': mean,
            name + '_cpu_ms': cpu
        })
    return result


def run_mode(args) -> dict:
    """Child process: time one mode, save its outputs, return a dict."""
    import mmbas  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(args.denormals == 'flush')
    dev = torch.device(args.device)
    size_hw = (args.size[1], args.size[0])
    maps, edge = make_inputs(size_hw, args.classes, args.seed)
    maps, edge = maps.to(dev), edge.to(dev)
    if args.mode == 'step':
        return profile_step(args, maps, edge)
    # warm-up on a 6 x 6 grid (kernels, thread pools), not timed
    small_maps, small_edge = make_inputs((24, 24), args.classes, 1)
    refine(args.mode, small_maps.to(dev), small_edge.to(dev), (24, 24), args)
    _sync(dev)
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    rss_before = _rss_kib('VmRSS')
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
    except OSError:
        pass
    partial = args.mode == 'dense' and args.dense_squarings is not None \
        and args.dense_squarings < args.exp_times
    repeats = 1 if args.mode == 'dense' else max(1, args.repeats)
    runs, cpu, times = [], [], {}
    for _ in range(repeats):
        _sync(dev)
        t0, c0 = time.perf_counter(), time.process_time()
        out, label = refine(
            args.mode, maps, edge, size_hw, args, times, progress=True)
        _sync(dev)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    result = dict(
        mode=args.mode,
        s_per_image=statistics.median(runs),
        runs_s=[round(t, 4) for t in runs],
        cpu_s_per_image=statistics.median(cpu),
        grid=list(maps.shape[1:]),
        pixels=maps[0].numel(),
        threads=torch.get_num_threads(),
        walk_threads=(args.walk_threads or torch.get_num_threads())
        if args.mode != 'dense' else None,
        denormals=args.denormals,
        extrapolated=False)
    if partial:
        sq = times['squarings_s']
        rest = runs[0] - sum(sq)
        # the CPU time scales like the wall time of the squarings
        share = cpu[0] / runs[0]
        result.update(
            extrapolated=True,
            squarings_timed=len(sq),
            squaring_s=statistics.median(sq),
            build_s=times['build_s'],
            measured_s=runs[0],
            measured_cpu_s=cpu[0],
            s_per_image=rest + args.exp_times * statistics.median(sq),
            cpu_s_per_image=share *
            (rest + args.exp_times * statistics.median(sq)))
    if dev.type == 'cuda':
        result['peak_mib'] = (torch.cuda.max_memory_allocated() -
                              before) / 2**20
    else:
        peak = _rss_kib('VmHWM')
        result['peak_rss_mib'] = peak / 1024
        result['peak_mib'] = (peak - rss_before) / 1024
    if not partial:
        np.save(
            osp.join(args.work_dir, args.mode + '_maps.npy'),
            out.float().cpu().numpy())
        np.save(osp.join(args.work_dir, args.mode + '_labels.npy'), label)
    return result


def _run_subprocess(argv, mode, work_dir, poll_s=5.0) -> dict:
    """Run one mode in a child process (its stderr, the progress, passes
    through) and sample the 1-min load average every ``poll_s`` s."""
    cmd = [sys.executable, osp.abspath(__file__)
           ] + list(argv) + ['--mode', mode, '--work-dir', work_dir]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    loads = [os.getloadavg()[0]]
    while True:
        try:
            stdout, _ = proc.communicate(timeout=poll_s)
            break
        except subprocess.TimeoutExpired:
            loads.append(os.getloadavg()[0])
    loads.append(os.getloadavg()[0])
    lines = [
        line for line in stdout.splitlines() if line.startswith('RESULT ')
    ]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(stdout)
        raise SystemExit(f'mode {mode} failed (exit code {proc.returncode})')
    result = json.loads(lines[-1][len('RESULT '):])
    result['load_average'] = dict(
        min=min(loads), max=max(loads), mean=statistics.mean(loads))
    return result


def main(argv=None):
    args = parse_args(argv)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device here')
    if args.mode is not None:
        print('RESULT ' + json.dumps(run_mode(args)), flush=True)
        return
    argv = list(argv if argv is not None else sys.argv[1:])
    work = args.work_dir or tempfile.mkdtemp(prefix='bench_rw_')
    os.makedirs(work, exist_ok=True)
    w, h = args.size
    grid = (-(-h // 4), -(-w // 4))
    print(
        f'image {w}x{h} -> grid {grid[1]}x{grid[0]} (n = '
        f'{grid[0] * grid[1]}), {args.classes} classes, beta {args.beta}, '
        f'{2 ** args.exp_times} steps, radius {args.radius}, device '
        f'{args.device}, {os.cpu_count()} CPUs, denormals {args.denormals}, '
        f'load average {os.getloadavg()[0]:.2f}',
        flush=True)
    results = {}
    for mode in args.modes:
        res = _run_subprocess(argv, mode, work)
        results[mode] = res
        load = res['load_average']
        if mode == 'step':
            parts = ', '.join(f"{name} {res[name + '_ms']:.3f} / "
                              f"{res[name + '_mean_ms']:.3f} ms "
                              f"({res[name + '_cpu_ms']:.3f})"
                              for name in ('step', 'step_fp32', 'step_out',
                                           'gather', 'zero_output', 'build'))
            print(
                f"  step        threads {res['threads']} (walk "
                f"{res['walk_threads']}), nnz {res['nnz']}, median / mean "
                f"wall (mean CPU) of {res['repeats']} calls: {parts}, load "
                f"average during the run {load['min']:.2f}-"
                f"{load['max']:.2f}",
                flush=True)
            continue
        extra = ''
        if res['extrapolated']:
            extra = (f" EXTRAPOLATED from {res['squarings_timed']} of "
                     f"{args.exp_times} squarings ({res['squaring_s']:.2f} "
                     f"s each; measured {res['measured_s']:.2f} s)")
        print(
            f"  {mode:11s} {res['s_per_image']:.3f} s/image (runs "
            f"{res['runs_s']}; CPU {res['cpu_s_per_image']:.3f} s), peak "
            f"+{res['peak_mib']:.1f} MiB" +
            (f" (RSS {res['peak_rss_mib']:.0f} MiB)" if 'peak_rss_mib' in res
             else '') + f", threads {res['threads']}" +
            (f" (walk {res['walk_threads']})" if res['walk_threads'] else '') +
            f"{extra}, load average during the run {load['min']:.2f}-"
            f"{load['max']:.2f} (mean {load['mean']:.2f})",
            flush=True)
    modes = [m for m in args.modes if m != 'step']
    if not modes:
        print('JSON ' + json.dumps(results))
        return
    first = modes[0]
    base_maps = osp.join(work, first + '_maps.npy')
    for mode in modes[1:]:
        res, ref = results[mode], results[first]
        res['speedup_of_first'] = res['s_per_image'] / ref['s_per_image']
        res['cpu_speedup_of_first'] = (
            res['cpu_s_per_image'] / ref['cpu_s_per_image'])
        res['memory_ratio_to_first'] = res['peak_mib'] / max(
            ref['peak_mib'], 1e-9)
        print(f"  {first} vs {mode}: {res['speedup_of_first']:.1f}x faster "
              f"(CPU time {res['cpu_speedup_of_first']:.1f}x less), "
              f"{res['memory_ratio_to_first']:.1f}x less peak memory "
              f"(increase over the pre-run size)")
        path = osp.join(work, mode + '_maps.npy')
        if osp.exists(base_maps) and osp.exists(path):
            a, b = np.load(base_maps), np.load(path)
            la = np.load(osp.join(work, first + '_labels.npy'))
            lb = np.load(osp.join(work, mode + '_labels.npy'))
            res['equal_labels'] = float((la == lb).mean())
            res['differing_pixels'] = int((la != lb).sum())
            res['max_abs_diff'] = float(np.abs(a - b).max())
            print(f"  {mode} vs {first}: equal labels "
                  f"{100 * res['equal_labels']:.4f} % "
                  f"({res['differing_pixels']} of {la.size} pixels differ), "
                  f"max |maps diff| "
                  f"{res['max_abs_diff']:.2e}")
    print('JSON ' + json.dumps(results))


if __name__ == '__main__':
    main()
