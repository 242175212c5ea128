# Copyright (c) mmbas contributors. All rights reserved.
"""Time the pseudo-label export against a naive per-image loop.

Example (VOC-size images, the 4 scales x flip of docs/method.md)::

    python tools/analysis_tools/benchmark_export.py --num-images 6 \
        --size 500 375 --scales 1.0 0.5 1.5 2.0 --modes naive fast

Modes (each in its own subprocess, so peak memory is measured cleanly).
To be fair on a shared, loaded machine the images are split into
``--rounds`` chunks and the modes alternate per chunk (round ``r`` runs the
modes in an order rotated by ``r``); the times of a mode are summed.

* ``naive``: one image at a time, decode in the main process, one
  ``forward_maps`` call per scale and per flip (batch of 1), synchronous
  PNG encoding + writing;
* ``fast``: :func:`mmbas.pseudo.export.export_pseudo_labels` with the
  model in a ``SeedInferencer`` (what ``tools/export_pseudo_labels.py``
  runs for a seed config: DataLoader workers running the test pipeline,
  flip pair in one batch, ``inference_mode``, background writer; image
  classes known, so BAS runs F1 + generator only);
* ``fast-full``: the same with the scores computed too (f2 and the
  classifier run), i.e. the gain of the pipeline alone.

The model is a random-init WSSS BAS ResNet-50 (``--config`` to use another
model config: its ``model`` is built with random weights), on ``--device``
(default: the CPU; on CUDA the timed region ends with
``torch.cuda.synchronize`` and the peak GPU memory is reported too). Images
are toy scenes (:func:`mmbas.testing.toy_data.render_scene`) saved as JPEG.
Each mode first runs one warm-up image (not timed). Printed per mode:
images/s, seconds per image, peak RSS of the process, the largest peak RSS
of its child processes (DataLoader workers; short helper subprocesses
started at import count too) and the pixel agreement of its PNGs with the
first mode's.
A mode that fails to export an image stops the benchmark with the reason.
``--json OUT`` also writes the settings and results to OUT.
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', help='model config (default: WSSS R50)')
    parser.add_argument('--num-images', type=int, default=6)
    parser.add_argument(
        '--size', type=int, nargs=2, default=[500, 375], metavar=('W', 'H'))
    parser.add_argument(
        '--scales',
        type=float,
        nargs='+',
        default=None,
        help='default: the seed recipe\'s scales')
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--modes',
        nargs='+',
        default=['naive', 'fast'],
        choices=['naive', 'fast', 'fast-full'])
    parser.add_argument(
        '--rounds',
        type=int,
        default=2,
        help='alternate the modes over this many chunks')
    parser.add_argument('--work-dir', help='keep images/outputs here')
    parser.add_argument(
        '--device', default='cpu', help='cpu or cuda[:N] (default: cpu)')
    parser.add_argument(
        '--json',
        metavar='OUT',
        help='also write the settings and results here')
    parser.add_argument('--run-mode', help=argparse.SUPPRESS)
    parser.add_argument('--chunk', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scales is None:
        from mmbas.pseudo.seeds import DEFAULT_SCALES
        args.scales = list(DEFAULT_SCALES)
    return args


def make_images(root, n, width, height):
    """n toy scenes (JPEG) with 1-2 of the 20 VOC classes."""
    import cv2

    from mmbas.testing.toy_data import render_scene
    items = []
    os.makedirs(root, exist_ok=True)
    for i in range(n + 1):  # image 0: a small warm-up image
        rng = np.random.default_rng([7, i])
        labels = sorted(set(rng.choice(20, rng.integers(1, 3)).tolist()))
        h, w = (height, width) if i else (max(32, height // 4),
                                          max(32, width // 4))
        scene = render_scene(rng, h, w, labels)
        path = osp.join(root, f'img_{i:04d}.jpg')
        cv2.imwrite(path, scene['image'], [cv2.IMWRITE_JPEG_QUALITY, 95])
        items.append((f'img_{i:04d}', path, labels))
    return items


def build_model(config):
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmbas.testing.export_setup import wsss_model_cfg_text
    torch.manual_seed(0)  # the same random weights in every mode
    if config:
        cfg = Config.fromfile(config).model
    else:
        ns = {}
        exec(wsss_model_cfg_text(50), ns)
        cfg = ns['model']
    return MODELS.build(cfg).eval()


def naive_export(model, items, out_dir, scales, flip, bg_threshold=None):
    """The reference loop: per image, per scale, per flip; sync writes."""
    import cv2
    import torch
    import torch.nn.functional as F

    from mmbas.pseudo.seeds import (DEFAULT_BG_THRESHOLD, normalise_class_maps,
                                    scaled_size, seed_labels, seed_logits)
    from mmbas.pseudo.writer import (atomic_write, check_writable,
                                     encode_label_png)
    tmp = check_writable(out_dir)
    if bg_threshold is None:
        bg_threshold = DEFAULT_BG_THRESHOLD
    for name, path, labels in items:
        img = torch.from_numpy(cv2.imread(path).transpose(2, 0, 1).copy())
        with torch.no_grad():
            x = model.data_preprocessor(dict(inputs=[img]), False)['inputs']
            size = tuple(x.shape[-2:])
            total = 0
            for s in scales:
                xs = x
                if scaled_size(size, s) != size:
                    xs = F.interpolate(
                        x,
                        size=scaled_size(size, s),
                        mode='bilinear',
                        align_corners=False)
                for flipped in ([False, True] if flip else [False]):
                    maps, _ = model.forward_maps(
                        xs.flip(-1) if flipped else xs)
                    maps = F.interpolate(
                        maps.float(),
                        size=size,
                        mode='bilinear',
                        align_corners=False)
                    total = total + (maps.flip(-1) if flipped else maps)
            seeds = normalise_class_maps(total, [labels])[0]
        label = seed_labels(seed_logits(seeds, bg_threshold))[0]
        atomic_write(
            osp.join(out_dir, name + '.png'),
            encode_label_png(label.cpu().numpy()), tmp)


def run_mode(args):
    """Child process: time one mode, print one JSON line."""
    import torch

    import mmbas  # noqa: F401
    from mmbas.models.classifiers import SeedInferencer
    from mmbas.pseudo.export import export_pseudo_labels
    from mmbas.testing.export_setup import ImageListDataset
    work = args.work_dir
    items = json.load(open(osp.join(work, 'items.json')))
    device = torch.device(args.device)
    model = build_model(args.config).to(device)
    out = osp.join(work, args.run_mode)
    flip = not args.no_flip
    warm = items[:1]
    timed = items[1:][args.chunk::args.rounds]

    seed_model = SeedInferencer(model, scales=args.scales, flip=flip)
    # fast-full: the scores too, i.e. BAS's f2 and classifier run
    seed_model.recipe.with_scores = args.run_mode == 'fast-full'

    def run(chunk, out_dir):
        if args.run_mode == 'naive':
            naive_export(model, chunk, out_dir, args.scales, flip)
        else:
            summary = export_pseudo_labels(
                seed_model,
                ImageListDataset(chunk, model.num_classes),
                out_dir,
                num_workers=args.num_workers,
                progress=False)
            if summary['failed']:
                raise SystemExit(f"mode {args.run_mode} on {args.device}: "
                                 f"{summary['failed']} image(s) failed, e.g. "
                                 f"{summary['failed_images'][:1]}")
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    run(warm, out + f'_warmup{args.chunk}')
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    run(timed, out)
    wall = time.perf_counter() - start
    gpu_peak = None
    if device.type == 'cuda':
        gpu_peak = torch.cuda.max_memory_allocated(device) / 2**20
    print(
        json.dumps(
            dict(
                mode=args.run_mode,
                images=len(timed),
                wall_s=wall,
                images_per_s=len(timed) / wall,
                s_per_image=wall / len(timed),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                / 1024,
                workers_peak_rss_mb=resource.getrusage(
                    resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                peak_gpu_mem_mib=gpu_peak,
                threads=torch.get_num_threads())))


def agreement(dir_a, dir_b):
    from PIL import Image
    same = total = 0
    for f in sorted(os.listdir(dir_a)):
        if f.endswith('.png') and osp.exists(osp.join(dir_b, f)):
            a = np.asarray(Image.open(osp.join(dir_a, f)))
            b = np.asarray(Image.open(osp.join(dir_b, f)))
            same += int((a == b).sum())
            total += a.size
    return same / max(total, 1)


def write_json(path, obj):
    """Write ``obj`` to ``path`` atomically (temp file + os.replace)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def main():
    args = parse_args()
    if args.run_mode:
        return run_mode(args)
    work = args.work_dir or tempfile.mkdtemp(prefix='bench_export_')
    os.makedirs(work, exist_ok=True)
    import mmbas  # noqa: F401
    items = make_images(osp.join(work, 'images'), args.num_images, *args.size)
    json.dump(items, open(osp.join(work, 'items.json'), 'w'))
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    print(
        f'{args.num_images} images {args.size[0]}x{args.size[1]}, scales '
        f'{args.scales}, flip {not args.no_flip}, {os.cpu_count()} CPUs, '
        f'device {args.device}, load average before {load}',
        flush=True)
    results = {
        m:
        dict(
            mode=m,
            images=0,
            wall_s=0.0,
            peak_rss_mb=0.0,
            workers_peak_rss_mb=0.0,
            peak_gpu_mem_mib=None)
        for m in args.modes
    }
    for r in range(args.rounds):
        order = args.modes[r % len(args.modes):] + \
            args.modes[:r % len(args.modes)]
        for mode in order:
            cmd = [
                sys.executable, __file__, '--run-mode', mode, '--work-dir',
                work, '--num-images',
                str(args.num_images), '--num-workers',
                str(args.num_workers), '--rounds',
                str(args.rounds), '--chunk',
                str(r), '--device', args.device, '--scales',
                *[str(s) for s in args.scales]
            ]
            if args.config:
                cmd += ['--config', args.config]
            if args.no_flip:
                cmd.append('--no-flip')
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f'mode {mode} failed')
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"  round {r} {mode:>9s}: {res['images']} images in "
                f"{res['wall_s']:.1f} s, load {os.getloadavg()[0]:.2f}",
                flush=True)
            acc = results[mode]
            acc['images'] += res['images']
            acc['wall_s'] += res['wall_s']
            for key in ('peak_rss_mb', 'workers_peak_rss_mb'):
                acc[key] = max(acc[key], res[key])
            if res['peak_gpu_mem_mib'] is not None:
                acc['peak_gpu_mem_mib'] = max(acc['peak_gpu_mem_mib'] or 0.0,
                                              res['peak_gpu_mem_mib'])
    results = [results[m] for m in args.modes]
    for res in results:
        res['images_per_s'] = res['images'] / res['wall_s']
        res['s_per_image'] = res['wall_s'] / res['images']
        res['agreement'] = agreement(
            osp.join(work, args.modes[0]), osp.join(work, res['mode']))
        print(
            f"{res['mode']:>9s}: {res['images_per_s']:.4f} images/s "
            f"({res['s_per_image']:.2f} s/image), peak RSS "
            f"{res['peak_rss_mb']:.0f} MB (children "
            f"{res['workers_peak_rss_mb']:.0f} MB), pixel agreement with "
            f"{args.modes[0]} {100 * res['agreement']:.3f} %" +
            (f", peak GPU memory {res['peak_gpu_mem_mib']:.0f} MiB"
             if res['peak_gpu_mem_mib'] is not None else ''),
            flush=True)
    base = results[0]
    speedups = {}
    for res in results[1:]:
        speedups[res['mode']] = res['images_per_s'] / base['images_per_s']
        print(f"speed-up {res['mode']} vs {base['mode']}: "
              f"{speedups[res['mode']]:.2f}x")
    if args.json:
        write_json(
            args.json,
            dict(
                settings=dict(
                    num_images=args.num_images,
                    size=args.size,
                    scales=args.scales,
                    flip=not args.no_flip,
                    num_workers=args.num_workers,
                    rounds=args.rounds,
                    device=args.device,
                    config=args.config),
                results=results,
                speedup_vs_first=speedups))
        print(f'wrote {args.json}')
    try:
        print(f'load average after {os.getloadavg()}')
    except OSError:
        pass


if __name__ == '__main__':
    main()
