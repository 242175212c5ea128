# Copyright (c) mmbas contributors. All rights reserved.
"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Same arguments as mmsegmentation's ``tools/train.py``; ``--resume`` also
accepts a checkpoint path.
"""
import argparse
import os

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description='Train an mmbas model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no path is given')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (fp16 + loss '
        'scaling on GPUs, bf16 autocast on CPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torchrun sets LOCAL_RANK)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('train.py'):
        import mmbas  # noqa: F401  (compat fixes + registries)
        from mmbas.apis import (build_runner, enable_amp, load_config,
                                set_resume, shutdown_distributed)
        cfg = load_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
        if args.amp:
            cfg = enable_amp(cfg)
        cfg = set_resume(cfg, args.resume)
        runner = build_runner(cfg)
        # datasets and pretrained weights are loaded lazily from here
        runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
