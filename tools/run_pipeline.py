# Copyright (c) mmbas contributors. All rights reserved.
"""Run the whole BAS WSSS pipeline (resumable):

    python tools/run_pipeline.py --dataset voc|coco --work-dir DIR \
        [--stage1-config CFG] [--seed-config CFG] [--stage3-config CFG] \
        [--cfg-options-stage1 k=v ...] [--cfg-options-seeds k=v ...] \
        [--cfg-options-stage3 k=v ...] [--bg-threshold T] \
        [--refine irn [--irn-config CFG] [--cfg-options-irn k=v ...]] \
        [--export-args "..."] [--until STAGE] \
        [--launcher none|pytorch --gpus N]

stage-1 training -> seed evaluation with the background-threshold sweep ->
pseudo-mask export through the same seed config at the best threshold ->
mask check -> segmentation training -> val mIoU. With --refine irn the seeds
are refined by IRN before the export: relation labels -> IRN training ->
random-walk refined maps (stored once) -> mask mIoU and threshold sweep on
them -> export at the best mask threshold. --until STAGE stops after a
stage (e.g. masks). One folder per stage under
DIR, each with the fingerprint of what produced it (a changed config,
option or argument reruns that stage and the later ones), a summary table
at the end (also DIR/summary.json). The logic is
:mod:`mmbas.apis.pipeline`.
"""
import argparse
import os
import shlex
import sys

OPTION_HELP = dict(
    seeds='--cfg-options of the seed config (the export gets them too)',
    relabels='--cfg-options of the relation-label export (with --refine '
    'irn), e.g. model.refiner.fg_threshold=0.30 '
    'model.refiner.bg_threshold=0.17 (the defaults)',
    irn='--cfg-options of the IRN config (with --refine irn)',
    refine='--cfg-options of the refined-map export (with --refine irn), '
    'e.g. model.refiner.beta=10 (the walk of IRNWalkRefiner)')


def parse_args(argv=None) -> argparse.Namespace:
    from mmbas.apis.pipeline import (DEFAULT_CONFIGS, OPTION_STAGES,
                                     REFINE_STAGES, REFINERS)
    p = argparse.ArgumentParser(
        prog='tools/run_pipeline.py',
        description='BAS WSSS, all stages: stage-1 training -> seed '
        'evaluation (threshold sweep) -> pseudo-mask export -> '
        'segmentation training and val mIoU. Rerun the same command to '
        'resume after a crash.')
    p.add_argument('--dataset', choices=sorted(DEFAULT_CONFIGS), required=True)
    p.add_argument(
        '--work-dir',
        required=True,
        help='DIR: stage1/, seeds/, pseudo/, stage3/ (and '
        'relabels/, irn/, refine/, masks/ with --refine), '
        'summary.json')
    p.add_argument(
        '--stage1-config',
        help='BAS training config (default '
        'configs/bas/bas_r50_1xb16-10e_{voc12aug,coco14}-'
        '448x448.py)')
    p.add_argument(
        '--seed-config',
        help='seed evaluation and export '
        'config (default configs/bas/bas_r50_seed-ms-flip_'
        '{voc12-train,coco14-val}.py)')
    p.add_argument(
        '--stage3-config',
        help='segmentation config (default '
        'the DeepLabV2 pseudo config of the dataset)')
    for stage in OPTION_STAGES:
        # raw tokens (no DictAction): the tools get them verbatim
        p.add_argument(
            f'--cfg-options-{stage}',
            nargs='+',
            action='extend',
            default=[],
            metavar='KEY=VALUE',
            help=OPTION_HELP.get(stage, f'--cfg-options of the {stage} '
                                 'config'))
    p.add_argument(
        '--bg-threshold',
        type=float,
        default=None,
        help='export with this background threshold instead of '
        'the best one of the sweep (of the mask sweep with '
        '--refine)')
    p.add_argument(
        '--refine',
        choices=list(REFINERS),
        default=None,
        help='irn: refine the seeds with IRN (relation labels '
        '-> IRN training -> random walk -> mask sweep) before '
        'the export; DIR gets relabels/, irn/, refine/, masks/')
    p.add_argument(
        '--irn-config',
        help='IRN training config with --refine '
        'irn (default configs/irn/irn_r50_1xb32-3e_'
        '<voc12aug|coco14>-512x512.py)')
    p.add_argument(
        '--until',
        choices=list(REFINE_STAGES),
        default=None,
        help='stop after this stage (e.g. masks: the refined '
        'mask mIoU without the export and stage 3); the same '
        'command without it continues from there')
    p.add_argument(
        '--export-args',
        default='',
        help='extra arguments of tools/export_pseudo_labels.py, '
        'one string, e.g. "--num-workers 4" (settings of the '
        'seed model go to --cfg-options-seeds)')
    p.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='pytorch: every tool runs under torch.distributed.'
        'run with --gpus processes; slurm/mpi: run this script '
        'in the job step, the tools get --launcher')
    p.add_argument(
        '--gpus',
        type=int,
        default=1,
        help='processes per node with --launcher pytorch')
    p.add_argument(
        '--port', type=int, default=int(os.environ.get('PORT', 29500)))
    return p.parse_args(argv)


def main(argv=None) -> int:
    """0 on success, 1 when a stage failed (message printed)."""
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('run_pipeline.py'):
        from mmbas.apis.pipeline import OPTION_STAGES, run_pipeline
        from mmbas.apis.stages import StageError, StageRunner
        args = parse_args(argv)
        runner = StageRunner(args.launcher, args.gpus, args.port)
        options = {s: getattr(args, f'cfg_options_{s}') for s in OPTION_STAGES}
        try:
            run_pipeline(
                args.work_dir,
                dataset=args.dataset,
                stage1_config=args.stage1_config,
                seed_config=args.seed_config,
                stage3_config=args.stage3_config,
                cfg_options=options,
                bg_threshold=args.bg_threshold,
                export_args=shlex.split(args.export_args or ''),
                runner=runner,
                refine=args.refine,
                irn_config=args.irn_config,
                until=args.until)
        except StageError as err:
            print(
                f'run_pipeline.py: error: {err}', file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
