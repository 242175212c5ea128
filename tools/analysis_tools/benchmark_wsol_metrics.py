"""Benchmark the WSOL localization metrics on synthetic CAM-like maps.

Example::

    python tools/analysis_tools/benchmark_wsol_metrics.py --num 10000 \
        --size 224 --step 0.01 --mask-step 0.001
    # the box protocol, new (C sweeps) against old (findContours) path
    python tools/analysis_tools/benchmark_wsol_metrics.py --num 10000 \
        --protocols box --box-methods sweep contours

Maps are smooth (bilinear upsampling of a 14x14 random grid, like a CAM),
generated in chunks outside the timed region; every protocol sees the same
maps.  Prints images/s, total wall seconds and the CPU seconds of this
process per protocol (single process unless ``--nproc``); with several
``--box-methods`` it also checks that their per-threshold IoUs are
identical.
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(
    0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..')))

from mmbas.evaluation.functional import (BOX_METHODS, mask_histograms,
                                         max_box_acc, official_box_ious,
                                         official_thresholds, paper_box_ious,
                                         paper_loc_summary,
                                         piou_from_histograms,
                                         pxap_from_histograms)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=10000, help='images')
    parser.add_argument('--size', type=int, default=224, help='map side')
    parser.add_argument(
        '--step',
        type=float,
        default=0.01,
        help='threshold step of the official box protocol')
    parser.add_argument(
        '--mask-step',
        type=float,
        default=0.001,
        help='threshold step of PxAP/PIoU')
    parser.add_argument(
        '--paper-thresholds',
        type=float,
        nargs='+',
        default=[0.1],
        help='paper protocol thresholds')
    parser.add_argument(
        '--protocols',
        nargs='+',
        default=['paper', 'box', 'mask'],
        choices=['paper', 'box', 'mask'])
    parser.add_argument(
        '--box-methods',
        nargs='+',
        default=['auto'],
        choices=BOX_METHODS,
        help="official_box_ious method(s) to time: 'sweep' (C extension), "
        "'contours' (cv2.findContours per cut, the old path), 'auto'")
    parser.add_argument('--chunk', type=int, default=500)
    parser.add_argument(
        '--nproc',
        type=int,
        default=1,
        help='box protocol through WSOLBoxMetric(nproc=N) fed in batches '
        'of 32 (1: the plain function in this process; 0: all cores)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_chunk(rng, n, size):
    maps = [
        cv2.resize(
            rng.random((14, 14)), (size, size),
            interpolation=cv2.INTER_LINEAR).astype(np.float32)
        for _ in range(n)
    ]
    corners = np.sort(rng.integers(0, size, (n, 2, 2)), axis=1)
    boxes = np.stack([
        corners[:, 0, 0], corners[:, 0, 1], corners[:, 1, 0], corners[:, 1, 1]
    ], 1)[:, None, :]
    masks = [m > np.quantile(m, 0.7) for m in maps]
    return maps, boxes, masks


class Timer:
    """Accumulated wall and process-CPU seconds."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._t = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._t[0]
        self.cpu += time.process_time() - self._t[1]

    def line(self, num: int) -> str:
        return (f'{num / self.wall:9.1f} images/s, total {self.wall:7.2f} s '
                f'(cpu {self.cpu:7.2f} s)')


def time_box(method, maps, boxes, box_thr, timer, out, metric):
    """One chunk of the box protocol with ``method``; IoUs into ``out``."""
    if metric is not None:
        with timer:
            for i in range(0, len(maps), 32):
                metric.process({}, [
                    dict(pred_loc_map=m, gt_bboxes=b)
                    for m, b in zip(maps[i:i + 32], boxes[i:i + 32])
                ])
        return
    with timer:
        for m, b in zip(maps, boxes):
            out.append(official_box_ious(m, b, box_thr, method=method))


def main():
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    box_thr = official_thresholds(args.step)
    mask_thr = official_thresholds(args.mask_step)
    paper_thr = np.asarray(args.paper_thresholds, dtype=np.float64)
    methods = args.box_methods if 'box' in args.protocols else []
    timers = {p: Timer() for p in args.protocols if p != 'box'}
    timers.update({f'box:{m}': Timer() for m in methods})
    paper_ious = []
    box_out = {m: [] for m in methods}
    pos = np.zeros(len(mask_thr) + 2, np.int64)
    neg = np.zeros_like(pos)
    metrics = {m: None for m in methods}
    if args.nproc != 1:
        from mmbas.evaluation.metrics import WSOLBoxMetric
        metrics = {
            m: WSOLBoxMetric(step=args.step, nproc=args.nproc, method=m)
            for m in methods
        }
    done = 0
    while done < args.num:
        n = min(args.chunk, args.num - done)
        maps, boxes, masks = make_chunk(rng, n, args.size)
        if 'paper' in timers:
            with timers['paper']:
                paper_ious += [
                    paper_box_ious(m, b, paper_thr)
                    for m, b in zip(maps, boxes)
                ]
        for m in methods:
            time_box(m, maps, boxes, box_thr, timers[f'box:{m}'], box_out[m],
                     metrics[m])
        if 'mask' in timers:
            with timers['mask']:
                for m, g in zip(maps, masks):
                    p, q = mask_histograms(m, g, mask_thr)
                    pos += p
                    neg += q
        done += n

    print(f'{args.num} maps of {args.size}x{args.size}')
    if 'paper' in timers:
        with timers['paper']:
            s = paper_loc_summary(np.stack(paper_ious), paper_thr)
        print(f"paper  thresholds={paper_thr.tolist()}: "
              f"{timers['paper'].line(args.num)}  "
              f"(GT-known {s['gt_known_loc']:.2f})")
    for m in methods:
        timer = timers[f'box:{m}']
        with timer:
            if metrics[m] is not None:
                metrics[m]._drain()
                box_out[m] = [(r['iou_v1'], r['iou_v2'])
                              for r in metrics[m].results]
            v1 = np.stack([o[0] for o in box_out[m]])
            v2 = np.stack([o[1] for o in box_out[m]])
            r1 = max_box_acc(v1, box_thr, (50, ))
            r2 = max_box_acc(v2, box_thr, (30, 50, 70))
        print(f"box    {m} step={args.step} ({len(box_thr)} thr, nproc="
              f"{metrics[m].nproc if metrics[m] else 1}): "
              f"{timer.line(args.num)}  (MaxBoxAcc {r1['acc_50']:.2f}, "
              f"MaxBoxAccV2 {r2['mean']:.2f})")
    if len(methods) > 1:
        same = all(
            np.array_equal(
                np.stack([o[k] for o in box_out[methods[0]]]),
                np.stack([o[k] for o in box_out[m]])) for m in methods[1:]
            for k in (0, 1))
        print(f"box    per-threshold IoUs of {', '.join(methods)}: "
              f"{'identical' if same else 'DIFFERENT'}")
    if 'mask' in timers:
        with timers['mask']:
            pxap = pxap_from_histograms(pos, neg)
            piou, _ = piou_from_histograms(pos, neg, mask_thr)
        print(f"mask   step={args.mask_step} ({len(mask_thr)} thr): "
              f"{timers['mask'].line(args.num)}  "
              f"(PxAP {pxap:.2f}, PIoU {piou:.2f})")


if __name__ == '__main__':
    main()
