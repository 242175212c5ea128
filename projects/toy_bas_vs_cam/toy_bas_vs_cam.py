# Copyright (c) mmbas contributors. All rights reserved.
"""BAS vs. a plain CAM model on the toy VOC or COCO 2014 layout (the issue's
acceptance experiment), end to end through the real tools.

Steps (each one a ``tools/train.py`` / ``tools/test.py`` subprocess, logs in
``WORK/logs``; see ``docs/toy_experiment.md`` of this project). Each step is
a fingerprinted stage (:class:`mmbas.apis.stages.StageRunner`, as in
``tools/run_pipeline.py``): rerunning the same command reuses the finished
steps, and a step whose config, options or input checkpoint changed is
moved aside (``<folder>.stale-<time>``) and runs again, with the steps
after it.

1. write the toy set (``mmbas.testing.toy_data.make_voc`` / ``make_coco``;
   for COCO also the 81-class ``SegmentationClass/train2014`` PNGs through
   ``tools/dataset_converters/coco2014.py``) unless ``--data-root`` already
   holds one;
2. pretrain the backbone as a plain CAM classifier from random init for
   ``--iters-cam`` steps (``cam_{voc,coco}_toy.py``: VOC in
   ``configs/toy/``, COCO in this project's ``configs/``) -- the toy
   stand-in for ImageNet weights;
3. from that checkpoint (``load_from``) train BAS
   (``bas_{voc,coco}_toy.py``, same folders) and the CAM model for
   ``--iters`` steps each, same data, crop, batch, optimizer and schedule;
4. multi-scale + flip seeds with GT masks on the scored images (VOC: the
   toy *train* split, ``SegmentationClass``; COCO: the toy train2014
   images, ``SegmentationClass/train2014``) with
   this project's ``configs/*_{voc,coco}_seed_toy.py`` (SeedInferencer,
   IoUMetric at the fixed threshold and the background-threshold sweep,
   whose metrics hold the per-class IoU at its best threshold) for: the
   pretrained CAM, the fine-tuned CAM, BAS, and BAS fused with the
   fine-tuned CAM;
5. prints the loss curves (from each run's ``vis_data/scalars.json``), the
   per-threshold sweep and the seed table next to two trivial baselines
   computed here from the same GT PNGs (all background; a centred box
   labelled with the image's first class), writes ``WORK/summary.json``
   and, with ``--plot``, a PNG of the curves.

Example (ResNet-18; 9-15 min on two shared CPU cores)::

    python projects/toy_bas_vs_cam/toy_bas_vs_cam.py \\
        --work-dir work_dirs/toy_exp \\
        --data-root data/toy_exp --depth 18 --iters-cam 600 --iters 300 \\
        --lr 0.01 --alpha 0.2 --beta 1.2 --curve-every 50 \\
        --plot projects/toy_bas_vs_cam/docs/toy_experiment_losses.png

COCO: add ``--dataset coco`` (and e.g. ``--num-train 96``; the toy COCO has
no aug-only ids, so every train2014 image is trained on and scored).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
if REPO not in sys.path:  # this checkout's mmbas, as the tools it runs
    sys.path.insert(0, REPO)

from mmbas.apis.stages import (StageError, StageRunner, load_stage_config,
                               make_fingerprint)

# config folders, searched in this order
CONFIG_DIRS = (osp.join(HERE, 'configs'), osp.join(REPO, 'configs', 'toy'))
# per dataset: root under --data-root, number of foreground classes of the
# label space, the scored images (list file relative to the root) and their
# GT PNG
DATASETS = dict(
    voc=dict(
        sub=osp.join('VOCdevkit', 'VOC2012'),
        num_fg=20,
        list_file=osp.join('ImageSets', 'Segmentation', 'train.txt'),
        gt_png=lambda root, i: osp.join(root, 'SegmentationClass', f'{i}.png')
    ),
    coco=dict(
        sub='coco',
        num_fg=80,
        list_file=osp.join('ImageSets', 'train2014.txt'),
        gt_png=lambda root, i: osp.join(root, 'SegmentationClass', 'train2014',
                                        f'{i}.png')),
)
# WSSS ResNet depths (the heads read the F1 / F2 channels from it)
DEPTHS = (18, 34, 50, 101)
BAS_TERMS = ('loss_cls', 'loss_frg', 'loss_bas', 'loss_area', 'acc',
             'bg_ratio')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', required=True)
    p.add_argument(
        '--dataset',
        default='voc',
        choices=sorted(DATASETS),
        help='toy layout: configs/toy/*_{voc,coco}*_toy.py')
    p.add_argument(
        '--data-root',
        required=True,
        help='toy root (holds VOCdevkit/VOC2012 or coco/); '
        'written if missing')
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--num-val', type=int, default=16)
    p.add_argument('--size', type=int, default=128, help='toy image size')
    p.add_argument(
        '--num-classes',
        type=int,
        default=4,
        help='classes used by the toy set (the first ones of '
        'the VOC / COCO order)')
    p.add_argument('--seed', type=int, default=0, help='toy data seed')
    p.add_argument('--depth', type=int, default=50, choices=DEPTHS)
    p.add_argument('--crop', type=int, default=96)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument(
        '--iters-cam',
        type=int,
        default=150,
        help='CAM pretraining steps (from random init)')
    p.add_argument(
        '--iters',
        type=int,
        default=100,
        help='steps of BAS and of the CAM baseline from the '
        'pretrained checkpoint')
    p.add_argument('--pretrain-lr', type=float, default=0.01)
    p.add_argument('--pretrain-backbone-lr-mult', type=float, default=1.0)
    p.add_argument(
        '--lr',
        type=float,
        default=0.05,
        help='fine-tuning lr of the new layers (both models)')
    p.add_argument('--backbone-lr-mult', type=float, default=0.1)
    p.add_argument('--alpha', type=float, default=0.2, help='L_frg weight')
    p.add_argument('--beta', type=float, default=1.2, help='L_ac weight')
    p.add_argument(
        '--train-seed',
        type=int,
        default=0,
        help='randomness.seed of the BAS / CAM fine-tuning runs '
        '(data order, augmentation, BAS class draws)')
    p.add_argument('--log-interval', type=int, default=5)
    p.add_argument(
        '--curve-every', type=int, default=25, help='rows of the loss table')
    p.add_argument('--fixed-threshold', type=float, default=0.25)
    p.add_argument(
        '--no-fused', action='store_true', help='skip the fused BAS+CAM seeds')
    p.add_argument(
        '--sweep-step',
        type=float,
        default=0.05,
        help='threshold step of the printed sweep table (the '
        'metric sweeps 0.05..0.95 by 0.01; all of it is in '
        'summary.json)')
    p.add_argument('--plot', help='write the loss curves to this PNG')
    return p.parse_args()


# ----------------------------------------------------------------------
def data_opts(loaders, ds_root):
    from mmbas.testing import data_root_options
    return data_root_options(ds_root, loaders)


def find_config(name):
    """``name`` in this project's ``configs/`` or in ``configs/toy/``."""
    for folder in CONFIG_DIRS:
        if osp.isfile(osp.join(folder, name)):
            return osp.join(folder, name)
    raise FileNotFoundError(f'{name} is in none of {CONFIG_DIRS}')


def cfg(args, kind):
    """``<kind>_<dataset>_toy.py``, e.g. ``cfg(args, 'bas')``."""
    return find_config(f'{kind}_{args.dataset}_toy.py')


def seed_cfg(args, kind):
    """``<kind>_<dataset>_seed_toy.py``."""
    return find_config(f'{kind}_{args.dataset}_seed_toy.py')


def train_opts(args, ds_root, iters, lr, mult):
    c = args.crop
    r = int(round(c * 112 / 96))
    return data_opts(
        ('train_dataloader', 'val_dataloader', 'test_dataloader'), ds_root) + [
            f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters + 1}',  # no val during training
            f'param_scheduler.0.end={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            f'default_hooks.logger.interval={args.log_interval}',
            f'train_dataloader.batch_size={args.batch}',
            f'train_dataloader.dataset.pipeline.1.scale=({r},{r})',
            f'train_dataloader.dataset.pipeline.3.crop_size=({c},{c})',
            f'model.data_preprocessor.size=({c},{c})',
            f'optim_wrapper.optimizer.lr={lr}',
            f'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult={mult}',
            f'model.backbone.depth={args.depth}',
        ]


def seed_opt(args):
    return [f'randomness.seed={args.train_seed}']


def train(args,
          runner,
          name,
          config,
          iters,
          lr,
          mult,
          extra=(),
          load_from=None,
          upstream=None):
    """Train ``WORK/<name>`` (or reuse it when its fingerprint matches); return
    the final checkpoint, the wall time and the fingerprint."""
    wd = osp.join(args.work_dir, name)
    ckpt = osp.join(wd, f'iter_{iters}.pth')
    opts = train_opts(args, args.ds_root, iters, lr, mult) + list(extra)
    fp = make_fingerprint(
        config,
        load_stage_config(config, opts),
        opts, ['train.py'],
        inputs=dict(load_from=load_from) if load_from else None,
        upstream=upstream)
    if runner.enter(name, wd, fp) and osp.isfile(ckpt):
        print(f'[skip] {name}: {ckpt} exists (same fingerprint)')
        return ckpt, 0.0, fp
    dt = runner.run_tool(name, 'train.py',
                         [config, '--work-dir', wd, '--cfg-options'] + opts,
                         osp.join(args.work_dir, 'logs', f'train_{name}.log'))
    if not osp.isfile(ckpt):
        raise StageError(f'{name}: tools/train.py finished without {ckpt}')
    print(f'  done in {dt:.0f} s', flush=True)
    return ckpt, dt, fp


def seed_test(args,
              runner,
              name,
              config,
              ckpt,
              extra=(),
              inputs=None,
              upstream=None):
    """Seed metrics of ``ckpt`` with a seed config (``WORK/seeds/<name>``,
    reused when its fingerprint matches), with ``per_class`` (the sweep's per-
    class IoU at its best threshold) and ``time_s``."""
    wd = osp.join(args.work_dir, 'seeds', name)
    log = osp.join(args.work_dir, 'logs', f'test_{name}.log')
    opts = data_opts(('test_dataloader', ), args.ds_root) + [
        f'model.bg_threshold={args.fixed_threshold}',
        f'model.module.backbone.depth={args.depth}',
    ] + list(extra)
    fp = make_fingerprint(
        config,
        load_stage_config(config, opts),
        opts, ['test.py', ckpt],
        inputs=dict(checkpoint=ckpt, **(inputs or {})),
        upstream=upstream)
    done = sorted(glob.glob(osp.join(wd, '*', '*.json')))
    if runner.enter(f'seeds/{name}', wd, fp) and done:
        print(f'[skip] seeds {name} (same fingerprint)')
        dt = 0.0
    else:
        dt = runner.run_tool(
            f'seeds/{name}', 'test.py',
            [config, ckpt, '--work-dir', wd, '--cfg-options'] + opts, log)
        print(f'  done in {dt:.0f} s', flush=True)
        done = sorted(glob.glob(osp.join(wd, '*', '*.json')))
    with open(done[-1]) as f:
        metrics = json.load(f)
    metrics['per_class'] = per_class_iou(metrics)
    metrics['time_s'] = dt
    return metrics


def per_class_iou(metrics, prefix='sweep/'):
    """Per-class IoU at the best threshold of the sweep, from the metrics json
    of ``tools/test.py`` (``SeedSweepMetric``'s ``IoU.<class>`` keys; classes
    with an empty union have none)."""
    key = f'{prefix}IoU.'
    return OrderedDict(
        (k[len(key):], v) for k, v in metrics.items() if k.startswith(key))


def strip_checkpoint(ckpt):
    """Write ``<ckpt>_weights.pth`` holding only the state dict (our own
    training output, hence loaded with full unpickling), unless it is newer
    than ``ckpt``."""
    import torch
    out = ckpt[:-len('.pth')] + '_weights.pth'
    if not osp.isfile(out) or osp.getmtime(out) < osp.getmtime(ckpt):
        state = torch.load(ckpt, map_location='cpu', weights_only=False)
        torch.save(dict(state_dict=state['state_dict']), out)
    return out


# ----------------------------------------------------------------------
def load_scalars(work_dir):
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        return []
    rows = []
    with open(files[-1]) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return [r for r in rows if 'loss' in r]


def curve_table(rows, keys, every):
    lines = ['step ' + ' '.join(f'{k:>9}' for k in keys)]
    for r in rows:
        step = r.get('step', r.get('iter'))
        if step % every and r is not rows[-1] and step != rows[0]['step']:
            continue
        vals = [f'{r[k]:9.4f}' if k in r else f'{"-":>9}' for k in keys]
        lines.append(f'{step:4d} ' + ' '.join(vals))
    return '\n'.join(lines)


def plot_curves(curves, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, rows in curves.items():
        if not rows:
            continue
        steps = [r['step'] for r in rows]
        axes[0].plot(steps, [r['loss_cls'] for r in rows], label=name)
    axes[0].set_title('loss_cls (multi-label pos/neg CE)')
    axes[0].set_xlabel('iteration')
    axes[0].legend()
    rows = curves.get('bas') or []
    if rows:
        steps = [r['step'] for r in rows]
        for k in ('loss_cls', 'loss_frg', 'loss_bas', 'loss_area'):
            axes[1].plot(steps, [r[k] for r in rows], label=k)
        axes[1].set_title('BAS loss terms (weighted)')
        axes[1].set_xlabel('iteration')
        axes[1].legend()
        for k in ('bg_ratio', 'acc'):
            axes[2].plot(steps, [r[k] for r in rows], label=f'bas {k}')
    for name in ('cam', 'cam_pretrain'):
        if curves.get(name):
            axes[2].plot([r['step'] for r in curves[name]],
                         [r['acc'] for r in curves[name]],
                         label=f'{name} acc',
                         alpha=0.7)
    axes[2].set_title('S_bg/S ratio and top-1 acc')
    axes[2].set_xlabel('iteration')
    axes[2].legend()
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f'loss curves written to {path}')


def sweep_table(seeds, step):
    """Per-threshold mIoU of every model (rows = thresholds every ``step`` of
    the metric's sweep plus each model's best one, marked ``*``)."""
    names = list(seeds)
    thr = sorted({
        float(k.split('@')[1])
        for m in seeds.values()
        for k in m if k.startswith('sweep/mIoU@')
    })
    keep = [
        x for x in thr
        if abs(round((x - thr[0]) / step) * step - (x - thr[0])) < 1e-6
    ]
    best = {n: seeds[n]['sweep/best_threshold'] for n in names}
    rows = sorted(set(keep) | {round(b, 2) for b in best.values()})
    lines = ['  thr' + ''.join(f'{n:>14}' for n in names)]
    for x in rows:
        cells = []
        for n in names:
            v = seeds[n].get(f'sweep/mIoU@{x:.2f}', float('nan'))
            mark = '*' if abs(best[n] - x) < 1e-6 else ' '
            cells.append(f'{v:>13.2f}{mark}')
        lines.append(f'{x:5.2f}' + ''.join(cells))
    return '\n'.join(lines)


# ----------------------------------------------------------------------
def gt_baselines(ds_root, dataset='voc'):
    """All-background and centred-box seed mIoU on the scored images (the
    GT PNGs the seed configs read; same conventions as IoUMetric /
    SeedSweepMetric: ignore 255, nan-mean over the classes of the label
    space with a non-empty union)."""
    from PIL import Image

    from mmbas.testing import all_background_miou, label_map_miou
    spec = DATASETS[dataset]
    with open(osp.join(ds_root, spec['list_file'])) as f:
        ids = [x.strip() for x in f if x.strip()]
    gts = [np.array(Image.open(spec['gt_png'](ds_root, i))) for i in ids]
    k = spec['num_fg'] + 1
    out = OrderedDict(num_images=len(gts))
    out['all_background'] = all_background_miou(gts, k)
    best = (-1.0, None)
    for frac in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):

        def box(gt, frac=frac):
            h, w = gt.shape
            labels = [c for c in np.unique(gt) if 0 < c < 255]
            pred = np.zeros((h, w), np.int64)
            if labels:
                bh, bw = int(round(h * frac)), int(round(w * frac))
                y0, x0 = (h - bh) // 2, (w - bw) // 2
                pred[y0:y0 + bh, x0:x0 + bw] = labels[0]
            return pred

        m, _ = label_map_miou(gts, box, k)
        out[f'centre_box@{frac}'] = m
        if m > best[0]:
            best = (m, frac)
    out['centre_box_best'] = best[0]
    out['centre_box_best_frac'] = best[1]
    return out


# ----------------------------------------------------------------------
def main():
    args = parse_args()
    try:
        run_experiment(args)
    except StageError as err:
        print(f'toy_bas_vs_cam.py: error: {err}', file=sys.stderr)
        return 1
    return 0


def run_experiment(args):
    t_start = time.time()
    args.work_dir = osp.abspath(args.work_dir)
    spec = DATASETS[args.dataset]
    times = OrderedDict()
    runner = StageRunner(root=REPO, tag='toy')
    logs = osp.join(args.work_dir, 'logs')
    args.ds_root = osp.join(osp.abspath(args.data_root), spec['sub'])
    os.makedirs(args.work_dir, exist_ok=True)
    if not osp.isfile(osp.join(args.ds_root, spec['list_file'])):
        from mmbas.testing import toy_data
        make = dict(voc=toy_data.make_voc, coco=toy_data.make_coco)
        make[args.dataset](
            osp.abspath(args.data_root),
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            size=args.size,
            num_classes=args.num_classes)
        if args.dataset == 'coco':
            # 81-class PNGs + ImageSets/train2014.txt, as on the real data
            times['coco_converter'] = runner.run_tool(
                'coco_converter', osp.join('dataset_converters',
                                           'coco2014.py'),
                [args.ds_root, '--splits', 'train2014'],
                osp.join(logs, 'coco2014_converter.log'))
        print(f'toy {args.dataset} written to {args.ds_root}')
    # 1. pretrain CAM from random init
    pre_ckpt, times['train_cam_pretrain'], pre_fp = train(
        args, runner, 'cam_pretrain', cfg(args, 'cam'), args.iters_cam,
        args.pretrain_lr, args.pretrain_backbone_lr_mult)
    # 2. BAS and CAM from it, the same way
    bas_ckpt, times['train_bas'], bas_fp = train(
        args,
        runner,
        'bas',
        cfg(args, 'bas'),
        args.iters,
        args.lr,
        args.backbone_lr_mult,
        [
            f'load_from={pre_ckpt}',
            f'model.head.loss_frg.loss_weight={args.alpha}',
            f'model.head.loss_area.loss_weight={args.beta}'
        ] + seed_opt(args),
        load_from=pre_ckpt,
        upstream=pre_fp)
    cam_ckpt, times['train_cam'], cam_fp = train(
        args,
        runner,
        'cam',
        cfg(args, 'cam'),
        args.iters,
        args.lr,
        args.backbone_lr_mult, [f'load_from={pre_ckpt}'] + seed_opt(args),
        load_from=pre_ckpt,
        upstream=pre_fp)

    # 3. seeds
    seeds = OrderedDict()
    seeds['cam_pretrain'] = seed_test(
        args,
        runner,
        'cam_pretrain',
        seed_cfg(args, 'cam'),
        pre_ckpt,
        upstream=pre_fp)
    seeds['cam'] = seed_test(
        args, runner, 'cam', seed_cfg(args, 'cam'), cam_ckpt, upstream=cam_fp)
    seeds['bas'] = seed_test(
        args, runner, 'bas', seed_cfg(args, 'bas'), bas_ckpt, upstream=bas_fp)
    if not args.no_fused:
        # SeedInferencer loads cam_checkpoint at build time, outside the
        # runner's trusted load_or_resume, i.e. with weights_only=True, which
        # rejects mmengine training checkpoints (HistoryBuffer in
        # message_hub). Hand it a weights-only copy (state_dict only).
        cam_weights = strip_checkpoint(cam_ckpt)
        seeds['bas+cam'] = seed_test(
            args,
            runner,
            'bas_cam',
            seed_cfg(args, 'bas_cam'),
            bas_ckpt, [
                f'model.cam_checkpoint={cam_weights}',
                f'model.cam_module.backbone.depth={args.depth}'
            ],
            inputs=dict(cam_checkpoint=cam_weights),
            upstream=bas_fp)
    for k, v in seeds.items():
        times[f'seeds_{k}'] = v.pop('time_s')
    base = gt_baselines(args.ds_root, args.dataset)

    # 4. report
    curves = OrderedDict((n, load_scalars(osp.join(args.work_dir, n)))
                         for n in ('cam_pretrain', 'bas', 'cam'))
    print('\n=== loss curves (window-averaged, weighted terms) ===')
    print(f'-- cam_pretrain (random init, {args.iters_cam} it)')
    print(
        curve_table(curves['cam_pretrain'], ('loss_cls', 'acc'),
                    args.curve_every))
    print(f'-- bas (from cam_pretrain, {args.iters} it, alpha={args.alpha}, '
          f'beta={args.beta})')
    print(curve_table(curves['bas'], BAS_TERMS, args.curve_every))
    print(f'-- cam (from cam_pretrain, {args.iters} it)')
    print(curve_table(curves['cam'], ('loss_cls', 'acc'), args.curve_every))

    scored = dict(
        voc='toy VOC train split (SegmentationClass)',
        coco='toy COCO train2014 images '
        '(SegmentationClass/train2014)')[args.dataset]
    print(f'\n=== background-threshold sweep: seed mIoU (%) on the '
          f'{scored}, {base["num_images"]} images; every '
          f'{args.sweep_step:g}, * = best of the 0.01 sweep ===')
    print(sweep_table(seeds, args.sweep_step))

    t = args.fixed_threshold
    fixed_key = f'sweep/mIoU@{t:.2f}'
    print(f'\n=== seed mIoU (%) on the {scored}, multi-scale + flip ===')
    header = (f'{"model":<22}{"best mIoU":>10}{"best thr":>9}'
              f'{"mIoU@" + format(t, ".2f"):>11}{"mIoU@0.15":>10}')
    classes = None
    for v in seeds.values():
        classes = list(v['per_class']) or classes
    classes = classes or []
    header += ''.join(f'{c[:10]:>11}' for c in classes)
    print(header)
    for name, m in seeds.items():
        row = (f'{name:<22}{m["sweep/mIoU"]:>10.2f}'
               f'{m["sweep/best_threshold"]:>9.2f}'
               f'{m.get(fixed_key, float("nan")):>11.2f}'
               f'{m.get("sweep/mIoU@0.15", float("nan")):>10.2f}')
        row += ''.join(f'{m["per_class"].get(c, float("nan")):>11.2f}'
                       for c in classes)
        print(row)
    print(f'{"all background":<22}{base["all_background"]:>10.2f}')
    print(f'{"centred box (best)":<22}{base["centre_box_best"]:>10.2f}'
          f'   (box side {base["centre_box_best_frac"]} of the image, '
          f'labelled with the first image class)')
    print('(per-class IoU at each model\'s best threshold)')
    print('\n=== wall time (s) ===')
    for k, v in times.items():
        print(f'{k:<22}{v:8.0f}')
    total = time.time() - t_start
    print(f'{"total":<22}{total:8.0f}')

    summary = dict(
        args=vars(args),
        seeds=seeds,
        baselines=base,
        times=times,
        total_s=total,
        curves={
            k: [{
                kk: r[kk]
                for kk in r if kk in BAS_TERMS + ('step', 'lr')
            } for r in v]
            for k, v in curves.items()
        })
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'summary: {osp.join(args.work_dir, "summary.json")}')
    if args.plot:
        plot_curves(curves, args.plot)


if __name__ == '__main__':
    sys.exit(main())
