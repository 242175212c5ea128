# Copyright (c) mmbas contributors. All rights reserved.
"""Check the pseudo masks of the train set of a stage-3 (segmentation)
config before training on them (:mod:`mmbas.pseudo.checks`)::

    python tools/misc/check_pseudo_masks.py CONFIG [--cfg-options k=v ...] \
        [--num-classes C] [--max-list 10] [--no-values]

Every image of ``train_dataloader.dataset`` needs a mask of its size with
values in ``0..num_classes - 1`` and 255. Exit status 0 when the folder is
usable, 1 with the offending files and the fix otherwise.
"""
import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        prog='tools/misc/check_pseudo_masks.py',
        description='Check the pseudo masks of the train set of a stage-3 '
        '(segmentation) config before training')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--num-classes',
        type=int,
        default=None,
        help='classes incl. background (default: '
        'model.decode_head.num_classes)')
    parser.add_argument(
        '--max-list',
        type=int,
        default=10,
        help='offending files named per problem')
    parser.add_argument(
        '--no-values',
        action='store_true',
        help='only check presence and sizes')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """0 when the masks are usable, 1 (message on stderr) otherwise."""
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('check_pseudo_masks.py'):
        from mmbas.apis.config_utils import load_config
        from mmbas.pseudo.checks import PseudoMaskError, check_pseudo_masks
        args = parse_args(argv)
        cfg = load_config(args.config, args.cfg_options)
        try:
            report = check_pseudo_masks(cfg, args.num_classes, args.max_list,
                                        not args.no_values)
        except PseudoMaskError as err:
            print(f'pseudo-mask check failed: {err}', file=sys.stderr)
            return 1
    print(f"pseudo-mask check ok: {report['num_images']} masks in "
          f"{report['mask_dir']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
