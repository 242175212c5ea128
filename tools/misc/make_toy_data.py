# Copyright (c) mmbas contributors. All rights reserved.
"""Generate the deterministic toy datasets of ``mmbas.testing.toy_data``.

Example::

    python tools/misc/make_toy_data.py --out data/toy --datasets voc cub \
        --seed 0 --num-train 32 --num-val 16 --size 128

Writes the requested datasets in their real on-disk layouts under ``--out``
and, unless ``--no-manifest``, ``<out>/toy_manifest.json`` holding the
manifests returned by the generators (exact boxes, areas, ...).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

try:
    from mmbas.testing.toy_data import TOY_DATASETS, make_all
except ImportError:  # running from a source checkout without installation
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mmbas.testing.toy_data import TOY_DATASETS, make_all


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate deterministic toy WSOL/WSSS datasets.')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--datasets',
        nargs='+',
        choices=list(TOY_DATASETS),
        default=list(TOY_DATASETS),
        help='datasets to generate (default: all)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--num-train', type=int, default=None, help='train images')
    parser.add_argument(
        '--num-val',
        type=int,
        default=None,
        help='val (and OpenImages test / CUB test) images')
    parser.add_argument(
        '--size', type=int, default=None, help='longest image side (>= 48)')
    parser.add_argument(
        '--num-classes', type=int, default=None, help='number of classes used')
    parser.add_argument(
        '--no-manifest',
        action='store_true',
        help='do not write <out>/toy_manifest.json')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    manifests = make_all(
        args.out,
        seed=args.seed,
        datasets=args.datasets,
        num_train=args.num_train,
        num_val=args.num_val,
        size=args.size,
        num_classes=args.num_classes)
    elapsed = time.perf_counter() - start
    if not args.no_manifest:
        os.makedirs(args.out, exist_ok=True)
        with open(osp.join(args.out, 'toy_manifest.json'), 'w') as f:
            json.dump(manifests, f, indent=1)
    for name, manifest in manifests.items():
        counts = ', '.join(f'{split}={len(recs)}'
                           for split, recs in manifest['splits'].items())
        print(f'{name}: {manifest["root"]} ({counts})')
    print(f'done in {elapsed:.2f}s')


if __name__ == '__main__':
    main()
