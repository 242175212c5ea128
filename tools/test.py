# Copyright (c) mmbas contributors. All rights reserved.
"""Test (and evaluate) a checkpoint: ``python tools/test.py CONFIG CKPT``.

Same arguments as mmsegmentation's ``tools/test.py``, plus
``--non-strict``: the checkpoint must fit the model of the config (no
missing or unexpected keys, e.g. a CAM or DeepLab checkpoint for a BAS
config is refused with the keys named) unless ``--non-strict`` is given.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) an mmbas model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='if specified, the evaluation metric results will be dumped '
        'into the directory as json')
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save output predictions for offline '
        'evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved (inside '
        'work_dir/timestamp)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load only the checkpoint keys that fit the model (mmengine '
        'logs the others); by default a checkpoint with missing or '
        'unexpected keys, e.g. of another model, is refused')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('test.py'):
        import mmbas  # noqa: F401  (compat fixes + registries)
        from mmbas.apis import (build_runner, enable_strict_loading,
                                enable_tta, enable_visualization, load_config,
                                shutdown_distributed)
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(
                f'checkpoint {args.checkpoint} does not exist; pass the '
                '.pth written by tools/train.py (e.g. work_dirs/<config>/'
                'iter_N.pth)')
        cfg = load_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
        cfg.load_from = args.checkpoint
        if not args.non_strict:
            cfg = enable_strict_loading(cfg)
        if args.show or args.show_dir:
            cfg = enable_visualization(cfg, args.show, args.show_dir,
                                       args.wait_time)
        if args.tta:
            cfg = enable_tta(cfg)
        if args.out is not None:
            # mmseg's IoUMetric writes the label maps it scores as PNGs
            evaluators = cfg.test_evaluator if isinstance(
                cfg.test_evaluator, list) else [cfg.test_evaluator]
            for evaluator in evaluators:
                if evaluator.get('type') == 'IoUMetric':
                    evaluator['output_dir'] = args.out
                    evaluator['keep_results'] = True
        runner = build_runner(cfg)
        # datasets and pretrained weights are loaded lazily from here
        runner.test()
    shutdown_distributed()


if __name__ == '__main__':
    main()
