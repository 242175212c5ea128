# Copyright (c) mmbas contributors. All rights reserved.
"""Does IRN refinement improve the toy seeds? The measurements behind
docs/pseudo_masks.md, "Measured on toy VOC".

Input: the seed maps of a toy VOC set (``<id>.npz`` of
``tools/export_pseudo_labels.py --save-scores`` over ``trainaug``, e.g. of
the ``WORK/relabels_export_config.py`` that ``tools/run_pipeline.py
--refine irn`` dumps, with ``--cfg-options model.refiner=None``). Scores
are the mask mIoU of the ``train`` images against ``SegmentationClass``,
best over the background thresholds 0.05, 0.10, ..., 0.95, computed with
:class:`~mmbas.evaluation.SeedSweepMetric` (the pipeline's ``seeds`` and
``masks`` stages use the same metric and thresholds).

Subcommands::

    # seeds, and the spec walk on *ground-truth* boundaries (the edge map
    # = 1 on the stride-4 cells of the GT boundary band, 0 elsewhere): the
    # best any boundary network can give these seeds
    python projects/irn_toy/irn_toy_study.py oracle DATA_ROOT SEEDS_DIR

    # relation labels -> IRN training (tools/train.py) -> boundary maps ->
    # spec walk (IRNWalkRefiner's beta 10, 2^8 steps, radius 5, power
    # 1.5) -> sweep; one JSON line (also appended to --out)
    python projects/irn_toy/irn_toy_study.py irn DATA_ROOT SEEDS_DIR WORK \\
        --pretrain PTH --seed S [--fg 0.30 --bg 0.17 | --relative] \\
        [--no-crf] [--gt-labels] [--cfg-options k=v ...]

    # synthetic CAM-like seed maps of every ``trainaug`` image from its GT
    # (``SegmentationClassAug``), for the ``irn`` / ``oracle`` SEEDS_DIR
    python projects/irn_toy/irn_toy_study.py synth DATA_ROOT OUT_DIR

``synth`` (:func:`synthetic_seed_maps`): per class present in the GT, its
mask is area-averaged to the stride-16 grid, bilinearly upsampled back,
Gaussian-blurred (sigma 16 px, one stride), multiplied by the distance
transform of the blurred region (blurred map >= 0.1 x its max), divided by
that distance's max, and normalised to max 1: the right class at the right
place, highest at the object's centre, with a coarse extent and a soft
boundary, the seeds IRN is designed to refine. The recipe was fixed before
any refined score was looked at.

``--relative``: foreground threshold = the seeds' best threshold t*,
background threshold = t* * 0.17 / 0.30 (the spec's ratio). ``--gt-labels``
trains IRN on ``SegmentationClassAug`` (the GT with its boundary band as
the unknown zone) instead of relation labels: the control with perfect
labels. The JSON also holds the label statistics over the labelled pixels
of ``trainaug`` (foreground share vs the GT's, agreement with the GT) and
the mean boundary probability on / off the GT boundary cells.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
THRESHOLDS = [round(0.05 + 0.05 * i, 2) for i in range(19)]
NUM_CLASSES = 20  # VOC foreground classes
IRN_CONFIG = osp.join(ROOT, 'configs/toy/irn_r18_e2e.py')
SPEC_FG, SPEC_BG = 0.30, 0.17


def ids_of(root, split):
    with open(osp.join(root, 'ImageSets', 'Segmentation', split + '.txt')) \
            as f:
        return f.read().split()


def load_seeds(seeds_dir, img_id):
    """(K, H, W) float32 seed maps and (K,) 0-based classes of an image."""
    from mmbas.pseudo.random_walk import load_refined_maps
    return load_refined_maps(osp.join(seeds_dir, img_id + '.npz'))


def read_png(path):
    return np.array(Image.open(path))


def sweep(root, maps_of):
    """Best mIoU (percent), its threshold and the whole curve over the
    ``train`` images; ``maps_of(id) -> ((K, H, W) maps, (K,) classes)``."""
    from mmbas.evaluation.metrics.seed_sweep_metric import SeedSweepMetric
    metric = SeedSweepMetric(thresholds=THRESHOLDS)
    hist = 0
    for img_id in ids_of(root, 'train'):
        maps, classes = maps_of(img_id)
        full = torch.zeros((NUM_CLASSES, ) + tuple(maps.shape[1:]))
        full[torch.as_tensor(classes)] = torch.as_tensor(maps).float()
        gt = read_png(osp.join(root, 'SegmentationClass', img_id + '.png'))
        hist = hist + metric.image_histogram(full,
                                             torch.from_numpy(gt).long(),
                                             NUM_CLASSES + 1).numpy()
    iou = metric.iou_from_confusion(metric.confusions(hist))
    miou = np.nanmean(iou, 1)
    best = int(np.nanargmax(miou))
    return (round(float(miou[best] * 100), 2), THRESHOLDS[best],
            [round(float(v * 100), 2) for v in miou])


def synthetic_seed_maps(gt, stride=16, sigma=16., level=0.1):
    """CAM-like seed maps made from a GT label map (``synth``).

    Per foreground class present in ``gt`` (values 1..20; 0 background and
    255 band are no class), in order: the class mask (1 on its pixels) is
    area-averaged onto a ``ceil(H / stride) x ceil(W / stride)`` grid,
    bilinearly resized back to (H, W), blurred by a Gaussian of ``sigma``
    pixels, multiplied by the Euclidean distance transform of the region
    where the blurred map is at least ``level`` times its max (the distance
    divided by its max), and divided by its max.

    Args:
        gt (np.ndarray): (H, W) uint8 GT label map (``SegmentationClassAug``).
        stride (int): Grid stride of the coarse extent. Defaults to 16.
        sigma (float): Gaussian sigma in pixels. Defaults to 16.
        level (float): Share of the blurred max that bounds the region of
            the distance transform. Defaults to 0.1.

    Returns:
        tuple: ``maps`` (K, H, W) float32 in [0, 1], each with max 1, and
        ``classes`` (K,) int64 0-based foreground classes (K may be 0).
    """
    gt = np.asarray(gt)
    if gt.ndim != 2:
        raise ValueError(f'gt must be an (H, W) label map, got {gt.shape}')
    h, w = gt.shape
    grid = (-(-w // stride), -(-h // stride))  # cv2 sizes are (w, h)
    values = [int(v) for v in np.unique(gt) if v not in (0, 255)]
    maps = []
    for v in values:
        mask = (gt == v).astype(np.float32)
        coarse = cv2.resize(mask, grid, interpolation=cv2.INTER_AREA)
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        blurred = cv2.GaussianBlur(up, (0, 0), sigma)
        region = (blurred >= level * blurred.max()).astype(np.uint8)
        dist = cv2.distanceTransform(region, cv2.DIST_L2, 5)
        peaked = blurred * dist / dist.max()
        maps.append(peaked / peaked.max())
    maps = np.stack(maps) if maps else np.zeros((0, h, w), np.float32)
    return maps.astype(np.float32), np.array(values, np.int64) - 1


def write_synthetic_seeds(root, out):
    """``synthetic_seed_maps`` of every ``trainaug`` image, stored as the
    export's score files ``OUT/<id>.npz`` (existing files are kept)."""
    from mmbas.pseudo.random_walk import save_refined_maps
    written = 0
    for img_id in ids_of(root, 'trainaug'):
        path = osp.join(out, img_id + '.npz')
        if osp.isfile(path):
            continue
        gt = read_png(osp.join(root, 'SegmentationClassAug', img_id + '.png'))
        maps, classes = synthetic_seed_maps(gt)
        save_refined_maps(path, maps, classes.tolist())
        written += 1
    return dict(out=out, written=written)


def gt_boundary_cells(root, img_id):
    """(h, w) float32 on the stride-4 grid: 1 where a cell holds a pixel of the
    GT boundary band (255 in ``SegmentationClassAug``)."""
    from mmbas.pseudo.random_walk import IRN_STRIDE, irn_grid_size
    gt = read_png(osp.join(root, 'SegmentationClassAug', img_id + '.png'))
    h, w = irn_grid_size(gt.shape)
    band = np.zeros((h * IRN_STRIDE, w * IRN_STRIDE), np.uint8)
    band[:gt.shape[0], :gt.shape[1]] = gt == 255
    cells = band.reshape(h, IRN_STRIDE, w, IRN_STRIDE).max((1, 3))
    return cells.astype(np.float32)


def walked(seeds_dir, edge_of):
    """``maps_of`` of the spec walk of the seeds on ``edge_of(id)``."""
    from mmbas.pseudo.random_walk import refine_maps

    def maps_of(img_id):
        maps, classes = load_seeds(seeds_dir, img_id)
        out = refine_maps(
            torch.from_numpy(maps), torch.from_numpy(edge_of(img_id)),
            maps.shape[1:])
        return out.numpy(), classes

    return maps_of


def write_relation_labels(root, seeds_dir, out, fg, bg, use_crf):
    """Relation labels of the ``trainaug`` images and their statistics against
    ``SegmentationClassAug`` (band excluded)."""
    from mmbas.pseudo.relation_labels import make_relation_labels
    os.makedirs(out, exist_ok=True)
    n = np.zeros(4)
    for img_id in ids_of(root, 'trainaug'):
        maps, classes = load_seeds(seeds_dir, img_id)
        img = cv2.imread(osp.join(root, 'JPEGImages', img_id + '.jpg'))
        labels = make_relation_labels(
            img[:, :, ::-1].copy(),
            maps,
            classes.tolist(),
            fg,
            bg,
            use_crf=use_crf)
        Image.fromarray(labels).save(osp.join(out, img_id + '.png'))
        gt = read_png(osp.join(root, 'SegmentationClassAug', img_id + '.png'))
        ok = (labels != 255) & (gt != 255)
        n += [
            ok.sum(), (labels[ok] != 0).sum(), (gt[ok] != 0).sum(),
            (labels[ok] == gt[ok]).sum()
        ]
    return dict(
        labelled_px=int(n[0]),
        fg_share=round(n[1] / n[0], 4),
        gt_fg_share=round(n[2] / n[0], 4),
        agreement=round(n[3] / n[0], 4))


def train_irn(root, seg_map_path, work, pretrain, seed, options):
    """``tools/train.py`` of the toy IRN config on ``trainaug``."""
    ckpt = osp.join(work, 'last_checkpoint')
    if osp.isfile(ckpt):
        return
    os.makedirs(work, exist_ok=True)
    key = 'train_dataloader.dataset.'
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools/train.py'), IRN_CONFIG, '--work-dir', work,
        '--cfg-options', f'load_from={pretrain}', f'randomness.seed={seed}',
        f'{key}data_root={root}', f'{key}data_prefix.seg_map_path='
        f'{seg_map_path}', f'{key}ann_file=ImageSets/Segmentation/'
        'trainaug.txt', *options
    ]
    with open(osp.join(work, 'train.log'), 'w') as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)


def boundary_maps(root, work):
    """Boundary map (h, w) of every ``trainaug`` image from the trained IRN
    (:meth:`IRNWalkRefiner.boundary`, the refine stage's code)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.structures import SegDataSample

    from mmbas.models.refiners import IRNWalkRefiner
    init_default_scope('mmseg')
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    model = Config.fromfile(IRN_CONFIG).model
    model.backbone.init_cfg = None
    refiner = IRNWalkRefiner(model, checkpoint=ckpt).eval()
    out = {}
    for img_id in ids_of(root, 'trainaug'):
        path = osp.join(root, 'JPEGImages', img_id + '.jpg')
        size = cv2.imread(path).shape[:2]
        sample = SegDataSample(metainfo=dict(img_path=path))
        out[img_id] = refiner.boundary(sample, size).float().numpy()
    return out


def boundary_stats(root, edges):
    """Mean boundary probability on / off the GT boundary cells."""
    on, off = [], []
    for img_id, edge in edges.items():
        cells = gt_boundary_cells(root, img_id) > 0
        on.append(edge[cells])
        off.append(edge[~cells])
    return dict(
        on_gt_boundary=round(float(np.concatenate(on).mean()), 3),
        off_gt_boundary=round(float(np.concatenate(off).mean()), 3))


def cmd_oracle(args):
    seeds = sweep(args.data_root, lambda i: load_seeds(args.seeds_dir, i))
    oracle = sweep(
        args.data_root,
        walked(args.seeds_dir, lambda i: gt_boundary_cells(args.data_root, i)))
    return dict(
        seed_mIoU=seeds[0],
        seed_threshold=seeds[1],
        oracle_walk_mIoU=oracle[0],
        oracle_walk_threshold=oracle[1],
        oracle_walk_curve=oracle[2])


def cmd_irn(args):
    root = args.data_root
    seeds = sweep(root, lambda i: load_seeds(args.seeds_dir, i))
    if args.relative:
        fg, bg = seeds[1], round(seeds[1] * SPEC_BG / SPEC_FG, 4)
    else:
        fg, bg = args.fg, args.bg
    start = time.time()
    if args.gt_labels:
        seg_map_path, label_stats = 'SegmentationClassAug', None
    else:
        seg_map_path = osp.join(args.work, 'relabels')
        label_stats = write_relation_labels(root, args.seeds_dir, seg_map_path,
                                            fg, bg, not args.no_crf)
    train_irn(root, seg_map_path, osp.join(args.work, 'irn'), args.pretrain,
              args.seed, args.cfg_options)
    edges = boundary_maps(root, osp.join(args.work, 'irn'))
    refined = sweep(root, walked(args.seeds_dir, lambda i: edges[i]))
    return dict(
        seeds_dir=args.seeds_dir,
        seed=args.seed,
        labels='gt' if args.gt_labels else dict(
            fg=fg, bg=bg, crf=not args.no_crf),
        irn_options=args.cfg_options,
        seed_mIoU=seeds[0],
        seed_threshold=seeds[1],
        refined_mIoU=refined[0],
        refined_threshold=refined[1],
        refined_curve=refined[2],
        label_stats=label_stats,
        boundary=boundary_stats(root, edges),
        time_s=round(time.time() - start))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('synth')
    s.add_argument('data_root', help='toy VOCdevkit/VOC2012 folder')
    s.add_argument('out_dir', help='folder of the <id>.npz seed maps')
    s.add_argument('--out', help='append the JSON line to this file')
    for name in ('oracle', 'irn'):
        s = sub.add_parser(name)
        s.add_argument('data_root', help='toy VOCdevkit/VOC2012 folder')
        s.add_argument('seeds_dir', help='<id>.npz seed maps of trainaug')
        s.add_argument('--out', help='append the JSON line to this file')
    s.add_argument('work', help='folder of the labels and the IRN run')
    s.add_argument('--pretrain', required=True, help='IRN load_from')
    s.add_argument('--seed', type=int, default=0, help='IRN seed')
    s.add_argument('--fg', type=float, default=SPEC_FG)
    s.add_argument('--bg', type=float, default=SPEC_BG)
    s.add_argument(
        '--relative',
        action='store_true',
        help='fg = the seeds\' best threshold, bg = fg * 0.17 / 0.30')
    s.add_argument('--no-crf', action='store_true')
    s.add_argument('--gt-labels', action='store_true')
    s.add_argument('--cfg-options', nargs='+', default=[])
    return p.parse_args(argv)


def main(argv=None):
    torch.set_num_threads(1)
    args = parse_args(argv)
    result = dict(cmd=args.cmd, data_root=args.data_root)
    if args.cmd == 'synth':
        result.update(write_synthetic_seeds(args.data_root, args.out_dir))
    elif args.cmd == 'oracle':
        result.update(cmd_oracle(args))
    else:
        result.update(cmd_irn(args))
    line = json.dumps(result)
    print(line, flush=True)
    if args.out:
        with open(args.out, 'a') as f:
            f.write(line + '\n')


if __name__ == '__main__':
    main()
