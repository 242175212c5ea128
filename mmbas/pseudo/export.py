# Copyright (c) mmbas contributors. All rights reserved.
"""Export WSSS pseudo masks (seeds) for a whole image list.

Used by ``tools/export_pseudo_labels.py`` (a thin wrapper around
:func:`main`). For every image: multi-scale + flip seed maps of the image
classes (:func:`mmbas.pseudo.multiscale.multiscale_seed_maps`, the flip pair
in one batch), label map = argmax over ``[bg_threshold, class maps]`` (0 =
background, ``k + 1`` = foreground class ``k``), written as ``<stem>.png``
(stem of the image file; mode 'P', VOC palette) and optionally
``<stem>.npz`` (float16 score maps, see :func:`encode_scores`).

Properties:

* resumable and deterministic: see :mod:`mmbas.pseudo.writer` (atomic
  ``os.replace`` from ``<out>/.tmp``; finished = final PNG exists; fixed PNG
  settings). A killed export can leave (torn) temp files in ``<out>/.tmp``;
  once every rank of the next complete run has finished, rank 0 removes
  those older than that run's start and ``.tmp`` itself if it is then empty
  (:func:`mmbas.pseudo.writer.save_summary`), so a killed-and-rerun
  folder holds exactly the files of an uninterrupted run;
* distributed: rank ``r`` of ``w`` takes ``indices[r::w]`` of the list;
  counts are summed over the ranks, rank 0 writes
  ``<out>/export_summary.json``;
* fast: a DataLoader with workers decodes, the main thread runs the model
  under ``torch.inference_mode()``, a background thread encodes and writes
  (bounded queue). For BAS models the seed maps need only F1 and the
  generator (the scores S are not used when the classes are the ground
  truth), so :func:`seed_maps_fn` skips f2 and the classifier;
* failures (unreadable image, label out of range, no positive label) are
  recorded per image, the export continues and :func:`main` returns 1.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .multiscale import DEFAULT_SCALES, multiscale_seed_maps
from .writer import (ExportError, PseudoLabelWriter, check_writable,
                     format_summary, make_summary, reduce_stats,
                     remove_stale_temp_files, save_summary)

__all__ = [
    'ExportError', 'ExportItem', 'seed_maps_fn', 'seeds_to_label',
    'load_checkpoint_strict', 'export_items_from_dataset',
    'build_export_dataset', 'unwrap_seed_model', 'export_pseudo_labels',
    'remove_stale_temp_files', 'parse_args', 'main'
]

#: an image to export: name (file stem), image path, 0-based fg labels.
ExportItem = Tuple[str, str, Sequence[int]]


# ----------------------------------------------------------------------------
# model side
# ----------------------------------------------------------------------------
def seed_maps_fn(model: torch.nn.Module,
                 maps_only: bool = True) -> Callable[[Tensor], Tuple]:
    """The ``inputs -> (M, S)`` callable used for the seed maps.

    With ``maps_only`` and a BAS-like model (``backbone.forward_f1`` and
    ``head.forward_generator``) only F1 and the generator run:
    M = generator(F1) does not depend on f2 / the classifier, so the maps are
    identical to ``model.forward_maps`` at a fraction of the cost (S is
    returned as zeros). Any
    other model (e.g. CAM, whose maps come from F2) uses ``forward_maps``.
    """
    backbone = getattr(model, 'backbone', None)
    head = getattr(model, 'head', None)
    if maps_only and hasattr(backbone, 'forward_f1') and hasattr(
            head, 'forward_generator') and type(model).__name__ == 'BAS':

        def fn(inputs: Tensor):
            prepare = getattr(model, '_prepare_inputs', None)
            x = prepare(inputs) if prepare is not None else inputs
            maps = head.forward_generator(backbone.forward_f1(x))
            return maps, maps.new_zeros(maps.shape[:2])

        return fn
    return model.forward_maps


def seeds_to_label(seeds: Tensor,
                   labels: Sequence[int],
                   bg_threshold: float,
                   fg_threshold: Optional[float] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Label map of one image from its normalised seed maps.

    Args:
        seeds (Tensor): (C, H, W) maps in [0, 1] (the image classes).
        labels (Sequence[int]): the K 0-based foreground classes.
        bg_threshold (float): background score.
        fg_threshold (float, optional): leave uncertain pixels unlabelled:
            a pixel whose best class score lies in
            ``(bg_threshold, fg_threshold)`` becomes 255 (ignore), as the
            IRN-style refinement does with its foreground / background
            thresholds (0.30 / 0.17 in the spec). None: no ignore region.

    Returns:
        tuple: ``label`` (H, W) uint8 in {0} U {k + 1} (U {255}), argmax over
        ``[bg_threshold, seeds[labels]]`` (ties go to the first, i.e. the
        background); ``cams`` (K, H, W) float32 numpy maps of the classes.
    """
    labels = [int(v) for v in labels]
    cams = seeds[labels].float()
    bg = cams.new_full((1, ) + tuple(cams.shape[1:]), float(bg_threshold))
    idx = torch.cat([bg, cams]).argmax(0)
    lut = torch.tensor([0] + [v + 1 for v in labels], dtype=torch.uint8)
    label = lut[idx]
    if fg_threshold is not None:
        if fg_threshold < bg_threshold:
            raise ValueError(f'fg_threshold {fg_threshold} must not be '
                             f'below bg_threshold {bg_threshold}')
        best = cams.max(0).values if len(labels) else bg[0]
        label[(best > bg_threshold) & (best < fg_threshold)] = 255
    return label.numpy(), cams.numpy()


def _state_dict_of(checkpoint) -> Dict[str, Tensor]:
    sd = checkpoint
    if isinstance(sd, dict):
        for key in ('state_dict', 'model'):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict):
        raise ExportError('no state dict found')
    return {
        (k[7:] if k.startswith('module.') else k): v
        for k, v in sd.items()
    }


def load_checkpoint_strict(model: torch.nn.Module, path: str) -> None:
    """Load ``path`` into ``model``; any missing / unexpected key or shape
    mismatch raises :class:`ExportError` naming the checkpoint and the
    first mismatches (nothing is loaded then)."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmbas.utils import trusted_checkpoints
    if not osp.isfile(path):
        raise ExportError(f'checkpoint {path} does not exist')
    with trusted_checkpoints():
        try:
            ckpt = _load_checkpoint(path, map_location='cpu')
        except Exception as err:  # noqa: BLE001
            raise ExportError(
                f'cannot read checkpoint {path}: {err}') from None
    try:
        sd = _state_dict_of(ckpt)
    except ExportError:
        raise ExportError(f'checkpoint {path} holds no state dict') from None
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [
        f'{k} {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}'
        for k in sorted(set(own) & set(sd)) if hasattr(sd[k], 'shape')
        and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:

        def few(items):
            return ', '.join(items[:3]) + (f' (+{len(items) - 3} more)'
                                           if len(items) > 3 else '')

        parts = []
        if missing:
            parts.append(f'{len(missing)} missing keys: {few(missing)}')
        if unexpected:
            parts.append(
                f'{len(unexpected)} unexpected keys: {few(unexpected)}')
        if shapes:
            parts.append(f'{len(shapes)} shape mismatches: {few(shapes)}')
        raise ExportError(
            f'checkpoint {path} does not match the model of the config (' +
            '; '.join(parts) + '); pass the checkpoint trained with '
            'this config')
    model.load_state_dict(sd, strict=True)


# ----------------------------------------------------------------------------
# data side
# ----------------------------------------------------------------------------
def export_items_from_dataset(dataset) -> List[ExportItem]:
    """``(name, img_path, labels)`` of every image of an mmbas dataset
    (name = image file stem, so COCO masks match the dataset's
    ``seg_map_path`` convention)."""
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info['img_path']
        name = osp.splitext(osp.basename(path))[0]
        items.append((name, path,
                      [int(v) for v in np.asarray(info['gt_label']).ravel()]))
    return items


class _LoadDataset(torch.utils.data.Dataset):
    """Decode images in DataLoader workers; errors travel as strings."""

    def __init__(self, items: Sequence[ExportItem], num_classes: int):
        self.items = list(items)
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict:
        import cv2
        name, path, labels = self.items[idx]
        out = dict(name=name, img=None, labels=list(labels), error=None)
        bad = [v for v in labels if not 0 <= int(v) < self.num_classes]
        if not osp.isfile(path):
            out['error'] = f'image file {path} is missing'
        elif bad:
            out['error'] = (f'label id {bad} out of range for '
                            f'{self.num_classes} foreground classes')
        elif len(labels) == 0:
            out['error'] = 'no positive image-level label'
        else:
            img = cv2.imread(path, cv2.IMREAD_COLOR)  # BGR like mmcv
            if img is None:
                out['error'] = f'image file {path} is unreadable'
            else:
                out['img'] = torch.from_numpy(
                    np.ascontiguousarray(img.transpose(2, 0, 1)))
        return out


def _identity(item):
    return item


class _Progress:
    """A small progress bar on stderr: done/total, images/s and ETA."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self.last = 0.0
        self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        period = 0.5 if self.tty else 10.0
        if self.enabled and (now - self.last >= period
                             or self.done == self.total):
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            width = 30
            fill = int(width * self.done / max(self.total, 1))
            line = (f'[{"#" * fill}{"." * (width - fill)}] {self.done}/'
                    f'{self.total}, {rate:.2f} img/s, elapsed '
                    f'{elapsed:.0f}s, ETA {eta:.0f}s')
            end = '\r' if self.tty and self.done < self.total else '\n'
            self.stream.write(('\r' if self.tty else '') + line + end)
            self.stream.flush()


# ----------------------------------------------------------------------------
# the export
# ----------------------------------------------------------------------------
def _preprocess(model, img: Tensor) -> Tensor:
    """(3, H, W) uint8 BGR -> (1, 3, H, W) normalised with the model's
    data preprocessor (padding, if any, cropped away)."""
    h, w = img.shape[-2:]
    pre = getattr(model, 'data_preprocessor', None)
    if pre is None:
        return img[None].float()
    x = pre(dict(inputs=[img], data_samples=None), False)['inputs']
    return x[..., :h, :w]


def export_pseudo_labels(model: torch.nn.Module,
                         items: Sequence[ExportItem],
                         out_dir: str,
                         class_names: Sequence[str],
                         scales: Sequence[float] = DEFAULT_SCALES,
                         flip: bool = True,
                         bg_threshold: float = 0.25,
                         fg_threshold: Optional[float] = None,
                         save_scores: bool = False,
                         num_workers: int = 2,
                         rank: int = 0,
                         world_size: int = 1,
                         maps_only: bool = True,
                         progress: bool = True,
                         queue_size: int = 8) -> Dict:
    """Export the pseudo masks of ``items`` (this rank's shard).

    Args:
        model (nn.Module): BAS / CAM (``forward_maps``), in eval mode, with
            the ``data_preprocessor`` of the data contract.
        items (Sequence[ExportItem]): the whole list; rank ``r`` takes
            ``items[r::world_size]``.
        out_dir (str): output folder (created; must be writable).
        class_names (Sequence[str]): background + the C foreground names.
        scales, flip: multi-scale + flip settings.
        bg_threshold (float): background score of the argmax.
        fg_threshold (float, optional): see :func:`seeds_to_label`.
        save_scores (bool): also write ``<name>.npz``.
        num_workers (int): decode workers (0 = in the main process).
        rank, world_size (int): this process' shard.
        maps_only (bool): see :func:`seed_maps_fn`.
        progress (bool): show the progress bar (rank 0 only).
        queue_size (int): bound of the writer queue.

    Returns:
        dict: the summary over all ranks (:func:`make_summary`) plus
        ``rank_counts`` of this rank (``shard``, ``written``, ``skipped``,
        ``failed``). Rank 0 also writes ``<out_dir>/export_summary.json``
        and then clears what killed earlier runs left in ``<out_dir>/.tmp``
        (:func:`remove_stale_temp_files`).
    """
    start = time.perf_counter()
    num_classes = len(class_names) - 1
    writer = PseudoLabelWriter(out_dir, num_classes, save_scores, queue_size)
    shard = list(items)[rank::world_size]
    todo = []
    for item in shard:
        if writer.is_done(item[0]):
            writer.skip(item[0])
        else:
            todo.append(item)
    loader = torch.utils.data.DataLoader(
        _LoadDataset(todo, num_classes),
        batch_size=None,
        shuffle=False,
        num_workers=num_workers if len(todo) > 1 else 0,
        collate_fn=_identity)
    bar = _Progress(len(todo), enabled=progress and rank == 0)
    fn = seed_maps_fn(model, maps_only)
    try:
        with torch.inference_mode():
            for sample in loader:
                name = sample['name']
                if sample['error'] is not None:
                    writer.fail(name, sample['error'])
                else:
                    try:
                        x = _preprocess(model, sample['img'])
                        seeds = multiscale_seed_maps(fn,
                                                     x, [sample['labels']],
                                                     scales=scales,
                                                     flip=flip)[0]
                        label, cams = seeds_to_label(seeds, sample['labels'],
                                                     bg_threshold,
                                                     fg_threshold)
                    except (ValueError, RuntimeError) as err:
                        writer.fail(name, f'inference failed: {err}')
                    else:
                        writer.submit(name, label,
                                      [v + 1 for v in sample['labels']],
                                      cams if save_scores else None)
                bar.update()
    finally:
        local = writer.close()
    rank_counts = dict(shard=len(shard),
                       written=local.written,
                       skipped=local.skipped,
                       failed=len(local.failed))
    print(
        f'[rank {rank}/{world_size}] shard of {len(shard)} images: '
        f'written {local.written}, skipped {local.skipped}, failed '
        f'{len(local.failed)}',
        file=sys.stderr,
        flush=True)
    total = reduce_stats(local)
    summary = make_summary(total, class_names,
                           time.perf_counter() - start, out_dir)
    if rank == 0:
        # every rank closed its writer before reduce_stats' collectives
        # returned here
        save_summary(summary, writer)
    summary['rank_counts'] = rank_counts
    return summary


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Arguments of ``tools/export_pseudo_labels.py``."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Export WSSS pseudo masks (multi-scale + flip seeds) '
        'as palette PNGs')
    parser.add_argument('config', help='model + dataset config')
    parser.add_argument('checkpoint', help='trained checkpoint (.pth)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--split-list',
        help='text file of image ids (one per line) replacing the ann_file '
        'of the dataset (VOC-style), or selecting ids of it (other '
        "datasets); default: the config's export_dataloader, else "
        'test_dataloader dataset')
    parser.add_argument('--scales',
                        type=float,
                        nargs='+',
                        default=list(DEFAULT_SCALES))
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument('--bg-threshold', type=float, default=0.25)
    parser.add_argument(
        '--fg-threshold',
        type=float,
        default=None,
        help='pixels whose best class score lies between --bg-threshold and '
        'this value are written as 255 (ignore); default: no ignore region')
    parser.add_argument('--save-scores',
                        action='store_true',
                        help='also write <id>.npz with float16 class maps')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--no-maps-only',
        action='store_true',
        help='run the full forward_maps (BAS: f2 + classifier too)')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def unwrap_seed_model(model: torch.nn.Module,
                      rank: int = 0) -> torch.nn.Module:
    """The BAS / CAM model inside a wrapper without ``forward_maps`` (e.g.
    a ``SeedInferencer`` seed config, whose ``module`` is what training
    checkpoints hold). Its CAM fusion / CRF are not applied by this tool:
    use ``tools/test.py`` with ``PseudoLabelExportHook`` for those."""
    if hasattr(model, 'forward_maps') or not hasattr(model, 'module'):
        return model
    extras = [k for k in ('cam_module', 'crf')
              if getattr(model, k, None) is not None]
    if extras and rank == 0:
        print(f'export_pseudo_labels: note: the config wraps the model in '
              f'{type(model).__name__} with {" and ".join(extras)}; this '
              'tool exports the plain multi-scale seeds of its module (use '
              'tools/test.py with PseudoLabelExportHook for the wrapper\'s '
              'output)', file=sys.stderr, flush=True)
    return model.module


def build_export_dataset(cfg, split_list: Optional[str] = None):
    """Build the dataset of ``cfg.export_dataloader`` (else
    ``cfg.test_dataloader``), without ``seg_map_path``; ``split_list``
    replaces a ``.txt`` ann_file or filters the images by file stem."""
    import copy

    from mmseg.registry import DATASETS
    loader_cfg = cfg.get('export_dataloader', None) or cfg.get(
        'test_dataloader', None)
    if loader_cfg is None or 'dataset' not in loader_cfg:
        raise ExportError('the config has neither export_dataloader nor '
                          'test_dataloader with a dataset')
    ds_cfg = copy.deepcopy(loader_cfg['dataset'])
    prefix = dict(ds_cfg.get('data_prefix', {}) or {})
    prefix.pop('seg_map_path', None)
    ds_cfg['data_prefix'] = prefix
    ids = None
    if split_list is not None:
        if not osp.isfile(split_list):
            raise ExportError(f'--split-list {split_list} does not exist')
        with open(split_list) as f:
            ids = [ln.split()[0] for ln in f if ln.strip()]
        if str(ds_cfg.get('ann_file', '')).endswith('.txt'):
            ds_cfg['ann_file'] = osp.abspath(split_list)
            ids = None
    dataset = DATASETS.build(ds_cfg)
    items = export_items_from_dataset(dataset)
    if ids is not None:
        by_name = {it[0]: it for it in items}
        by_id = {
            str(dataset.get_data_info(i).get('img_id')): items[i]
            for i in range(len(items))
        }
        picked = []
        for i in ids:
            it = by_name.get(i) or by_id.get(i)
            picked.append(it if it is not None else (
                i, f'<{i}: not in the dataset of the config>', []))
        items = picked
    return dataset, items


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the export tool; return the exit status (0 ok, 1 some images
    failed). User errors raise :class:`ExportError` (one line)."""
    args = parse_args(argv)
    import mmbas  # noqa: F401  (compat + registries)
    from mmengine import dist
    from mmseg.registry import MODELS

    from mmbas.apis import load_config, shutdown_distributed
    from mmengine.registry import init_default_scope
    cfg = load_config(args.config, args.cfg_options, args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    check_writable(args.out)  # fail fast, before any work
    if args.launcher != 'none' and not dist.is_distributed():
        dist.init_dist(args.launcher)
    rank, world_size = dist.get_dist_info()
    model = unwrap_seed_model(MODELS.build(cfg.model), rank)
    load_checkpoint_strict(model, args.checkpoint)
    model.eval()
    dataset, items = build_export_dataset(cfg, args.split_list)
    class_names = list(dataset.metainfo['classes'])
    if len(class_names) - 1 != getattr(model, 'num_classes',
                                       len(class_names) - 1):
        raise ExportError(
            f'the dataset has {len(class_names) - 1} foreground classes but '
            f'the model {model.num_classes}')
    summary = export_pseudo_labels(model,
                                   items,
                                   args.out,
                                   class_names,
                                   scales=args.scales,
                                   flip=not args.no_flip,
                                   bg_threshold=args.bg_threshold,
                                   fg_threshold=args.fg_threshold,
                                   save_scores=args.save_scores,
                                   num_workers=args.num_workers,
                                   rank=rank,
                                   world_size=world_size,
                                   maps_only=not args.no_maps_only,
                                   progress=not args.no_progress)
    if rank == 0:
        print(format_summary(summary), file=sys.stderr, flush=True)
    status = 0
    if summary['failed']:
        if rank == 0:
            print(
                f'export_pseudo_labels: {summary["failed"]} image(s) '
                'failed (listed above); rerun after fixing them, finished '
                'images are skipped',
                file=sys.stderr,
                flush=True)
        status = 1
    shutdown_distributed()
    return status
