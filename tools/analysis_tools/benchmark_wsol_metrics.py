"""Benchmark the WSOL localization metrics on synthetic CAM-like maps.

Example::

    python tools/analysis_tools/benchmark_wsol_metrics.py --num 10000 \
        --size 224 --step 0.01 --mask-step 0.001

Maps are smooth (bilinear upsampling of a 14x14 random grid, like a CAM),
generated in chunks outside the timed region; every protocol sees the same
maps.  Prints images/s and total seconds per protocol (single process).
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..')))

from mmbas.evaluation.functional import (  # noqa: E402
    mask_histograms, max_box_acc, official_box_ious, official_thresholds,
    paper_box_ious, paper_loc_summary, piou_from_histograms,
    pxap_from_histograms)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=10000, help='images')
    parser.add_argument('--size', type=int, default=224, help='map side')
    parser.add_argument('--step', type=float, default=0.01,
                        help='threshold step of the official box protocol')
    parser.add_argument('--mask-step', type=float, default=0.001,
                        help='threshold step of PxAP/PIoU')
    parser.add_argument('--paper-thresholds', type=float, nargs='+',
                        default=[0.1], help='paper protocol thresholds')
    parser.add_argument('--protocols', nargs='+',
                        default=['paper', 'box', 'mask'],
                        choices=['paper', 'box', 'mask'])
    parser.add_argument('--chunk', type=int, default=500)
    parser.add_argument(
        '--nproc', type=int, default=1,
        help='box protocol through WSOLBoxMetric(nproc=N) fed in batches '
        'of 32 (1: the plain function in this process; 0: all cores)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_chunk(rng, n, size):
    maps = [cv2.resize(rng.random((14, 14)), (size, size),
                       interpolation=cv2.INTER_LINEAR).astype(np.float32)
            for _ in range(n)]
    corners = np.sort(rng.integers(0, size, (n, 2, 2)), axis=1)
    boxes = np.stack([corners[:, 0, 0], corners[:, 0, 1], corners[:, 1, 0],
                      corners[:, 1, 1]], 1)[:, None, :]
    masks = [m > np.quantile(m, 0.7) for m in maps]
    return maps, boxes, masks


def main():
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    box_thr = official_thresholds(args.step)
    mask_thr = official_thresholds(args.mask_step)
    paper_thr = np.asarray(args.paper_thresholds, dtype=np.float64)
    timers = {p: 0.0 for p in args.protocols}
    paper_ious, v1, v2 = [], [], []
    pos = np.zeros(len(mask_thr) + 2, np.int64)
    neg = np.zeros_like(pos)
    box_metric = None
    if 'box' in timers and args.nproc != 1:
        from mmbas.evaluation.metrics import WSOLBoxMetric
        box_metric = WSOLBoxMetric(step=args.step, nproc=args.nproc)
    done = 0
    while done < args.num:
        n = min(args.chunk, args.num - done)
        maps, boxes, masks = make_chunk(rng, n, args.size)
        if 'paper' in timers:
            t0 = time.perf_counter()
            paper_ious += [paper_box_ious(m, b, paper_thr)
                           for m, b in zip(maps, boxes)]
            timers['paper'] += time.perf_counter() - t0
        if box_metric is not None:
            t0 = time.perf_counter()
            for i in range(0, n, 32):
                box_metric.process({}, [
                    dict(pred_loc_map=m, gt_bboxes=b)
                    for m, b in zip(maps[i:i + 32], boxes[i:i + 32])])
            timers['box'] += time.perf_counter() - t0
        elif 'box' in timers:
            t0 = time.perf_counter()
            for m, b in zip(maps, boxes):
                a, c = official_box_ious(m, b, box_thr)
                v1.append(a)
                v2.append(c)
            timers['box'] += time.perf_counter() - t0
        if 'mask' in timers:
            t0 = time.perf_counter()
            for m, g in zip(maps, masks):
                p, q = mask_histograms(m, g, mask_thr)
                pos += p
                neg += q
            timers['mask'] += time.perf_counter() - t0
        done += n

    print(f'{args.num} maps of {args.size}x{args.size}')
    if 'paper' in timers:
        t0 = time.perf_counter()
        s = paper_loc_summary(np.stack(paper_ious), paper_thr)
        timers['paper'] += time.perf_counter() - t0
        print(f"paper  thresholds={paper_thr.tolist()}: "
              f"{args.num / timers['paper']:9.1f} images/s, total "
              f"{timers['paper']:7.2f} s  (GT-known {s['gt_known_loc']:.2f})")
    if box_metric is not None:
        t0 = time.perf_counter()
        box_metric._drain()
        v1 = [r['iou_v1'] for r in box_metric.results]
        v2 = [r['iou_v2'] for r in box_metric.results]
        timers['box'] += time.perf_counter() - t0
    if 'box' in timers:
        t0 = time.perf_counter()
        r1 = max_box_acc(np.stack(v1), box_thr, (50, ))
        r2 = max_box_acc(np.stack(v2), box_thr, (30, 50, 70))
        timers['box'] += time.perf_counter() - t0
        print(f"box    step={args.step} ({len(box_thr)} thr, nproc="
              f"{box_metric.nproc if box_metric else 1}): "
              f"{args.num / timers['box']:9.1f} images/s, total "
              f"{timers['box']:7.2f} s  (MaxBoxAcc {r1['acc_50']:.2f}, "
              f"MaxBoxAccV2 {r2['mean']:.2f})")
    if 'mask' in timers:
        t0 = time.perf_counter()
        pxap = pxap_from_histograms(pos, neg)
        piou, _ = piou_from_histograms(pos, neg, mask_thr)
        timers['mask'] += time.perf_counter() - t0
        print(f"mask   step={args.mask_step} ({len(mask_thr)} thr): "
              f"{args.num / timers['mask']:9.1f} images/s, total "
              f"{timers['mask']:7.2f} s  (PxAP {pxap:.2f}, PIoU {piou:.2f})")


if __name__ == '__main__':
    main()
