# Copyright (c) mmbas contributors. All rights reserved.
"""Export WSSS pseudo masks: one palette PNG per image of the list.

    python tools/export_pseudo_labels.py CONFIG CHECKPOINT --out DIR \
        [--split-list FILE] [--save-scores] [--num-workers N] \
        [--launcher pytorch] [--cfg-options KEY=VALUE ...]

CONFIG is normally a seed config (e.g.
``configs/bas/bas_r50_seed-ms-flip_voc12-train.py``):
its ``model`` runs unchanged -- ``SeedInferencer`` with its scales, flip,
CAM fusion, CRF and background threshold -- so the PNGs are exactly the
label maps ``tools/test.py CONFIG CHECKPOINT`` scores. Change any of them
with ``--cfg-options``, e.g. ``model.bg_threshold=0.31`` or
``model.scales=[1.0,0.5]``. The images come from the config's
``export_dataloader`` (else ``test_dataloader``) dataset.

Multi-process: ``tools/dist_export.sh CONFIG CHECKPOINT N [args]``.
Resumable (finished images are skipped before inference), deterministic,
see :mod:`mmbas.pseudo.export`. Exit status: 0 ok, 1 some images failed
(listed in the summary), 2 a usage error (one line).
"""
import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Export WSSS pseudo masks with the seed model of a '
        'config as palette PNGs')
    parser.add_argument('config', help='seed (or model) config')
    parser.add_argument('checkpoint', help='trained checkpoint (.pth)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--split-list',
        help='text file of image ids (one per line) replacing the ann_file '
        'of the dataset (VOC-style), or selecting ids of it (other '
        "datasets); default: the config's export_dataloader, else "
        'test_dataloader dataset')
    parser.add_argument(
        '--save-scores',
        action='store_true',
        help='also write <id>.npz with float16 class maps')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. model.bg_threshold=0.3 '
        'model.scales="[1.0,0.5]" model.crf="dict(type=dense_crf)"')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def run(args: argparse.Namespace) -> int:
    """Export; return the exit status (0 ok, 1 some images failed)."""
    from mmengine import dist
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmbas  # noqa: F401  (compat + registries)
    from mmbas.apis import load_config, shutdown_distributed
    from mmbas.pseudo.export import (build_export_dataset,
                                     export_pseudo_labels,
                                     load_checkpoint_strict)
    from mmbas.pseudo.session import ExportSession
    from mmbas.pseudo.writer import ExportError, check_writable
    cfg = load_config(args.config, args.cfg_options, args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    check_writable(args.out)  # fail fast, before any work
    if args.launcher != 'none' and not dist.is_distributed():
        dist.init_dist(args.launcher)
    rank, world_size = dist.get_dist_info()
    model = MODELS.build(cfg.model)
    load_checkpoint_strict(model, args.checkpoint)
    model.eval()
    dataset, _ = build_export_dataset(cfg, args.split_list)
    class_names = list(dataset.metainfo['classes'])
    num_classes = getattr(model, 'num_classes', len(class_names) - 1)
    if len(class_names) - 1 != num_classes:
        raise ExportError(
            f'the dataset has {len(class_names) - 1} foreground classes but '
            f'the model {num_classes}')
    summary = export_pseudo_labels(
        model,
        dataset,
        args.out,
        save_scores=args.save_scores,
        num_workers=args.num_workers,
        rank=rank,
        world_size=world_size,
        progress=not args.no_progress)
    if rank == 0:
        print(ExportSession.format(summary), file=sys.stderr, flush=True)
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


def main(argv=None) -> int:
    from mmbas.utils.errors import friendly_errors
    args = parse_args(argv)
    with friendly_errors('export_pseudo_labels.py'):
        from mmbas.pseudo.writer import ExportError
        try:
            return run(args)
        except ExportError as err:
            if os.environ.get('MMBAS_DEBUG'):
                raise
            print(f'export_pseudo_labels.py: error: {err}', file=sys.stderr)
            return 2


if __name__ == '__main__':
    sys.exit(main())
