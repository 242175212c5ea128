# Copyright (c) mmbas contributors. All rights reserved.
"""Build VOC2012 SegmentationClassAug + trainaug.txt / aug.txt from SBD.

    python tools/dataset_converters/voc_aug.py VOC_ROOT SBD_ROOT [--nproc N]

VOC_ROOT: the ``VOCdevkit/VOC2012`` folder (or ``VOCdevkit``); SBD_ROOT: the
``benchmark_RELEASE`` folder (or its ``dataset``) with ``cls/*.mat``,
``train.txt``, ``val.txt``. Writes (atomically, rerunnable):

* ``SegmentationClassAug/<id>.png``: gray uint8 label maps (0..20, 255),
  from VOC ``SegmentationClass`` where VOC has the id (it takes precedence,
  as in the usual SegmentationClassAug recipe), otherwise from SBD's
  ``GTcls.Segmentation``;
* ``ImageSets/Segmentation/trainaug.txt`` = VOC train + SBD train + SBD val
  - VOC val (10,582 ids on the real data);
* ``ImageSets/Segmentation/aug.txt`` = SBD train + SBD val - VOC train - VOC
  val (mmseg's name and meaning: 9,118 ids; mmseg's voc12aug config uses it
  with train.txt/SegmentationClass).
"""
import argparse
import os
import os.path as osp
from functools import partial

import numpy as np
from mmengine.utils import track_iter_progress, track_parallel_progress
from PIL import Image

AUG_LEN = 10582


def atomic_save_png(array: np.ndarray, path: str) -> None:
    tmp = f'{path}.tmp{os.getpid()}.png'
    Image.fromarray(array.astype(np.uint8)).save(tmp, 'PNG')
    os.replace(tmp, path)


def atomic_write_lines(path: str, lines) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.writelines(f'{x}\n' for x in lines)
    os.replace(tmp, path)


def read_ids(path: str, what: str) -> list:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    with open(path) as f:
        return [x.strip() for x in f if x.strip()]


def resolve_roots(voc_root: str, sbd_root: str):
    if osp.isdir(osp.join(voc_root, 'VOC2012')):
        voc_root = osp.join(voc_root, 'VOC2012')
    if osp.isdir(osp.join(sbd_root, 'dataset')):
        sbd_root = osp.join(sbd_root, 'dataset')
    for sub in ('JPEGImages', osp.join('ImageSets', 'Segmentation')):
        if not osp.isdir(osp.join(voc_root, sub)):
            raise FileNotFoundError(
                f'{osp.join(voc_root, sub)} missing: VOC_ROOT must be '
                'VOCdevkit/VOC2012')
    if not osp.isdir(osp.join(sbd_root, 'cls')):
        raise FileNotFoundError(
            f'{osp.join(sbd_root, "cls")} missing: SBD_ROOT must be '
            'benchmark_RELEASE (or benchmark_RELEASE/dataset)')
    return voc_root, sbd_root


def convert_one(img_id: str, voc_root: str, sbd_root: str,
                out_dir: str) -> str:
    """Write SegmentationClassAug/<id>.png; returns the source used."""
    voc_png = osp.join(voc_root, 'SegmentationClass', f'{img_id}.png')
    if osp.isfile(voc_png):
        # palette PNG: the palette indices are the labels
        mask = np.array(Image.open(voc_png))
        src = 'voc'
    else:
        from scipy.io import loadmat
        mat = osp.join(sbd_root, 'cls', f'{img_id}.mat')
        if not osp.isfile(mat):
            raise FileNotFoundError(f'no SBD mask {mat} nor VOC mask '
                                    f'{voc_png} for id {img_id}')
        mask = loadmat(mat)['GTcls'][0]['Segmentation'][0]
        src = 'sbd'
    atomic_save_png(
        np.asarray(mask, np.uint8), osp.join(out_dir, f'{img_id}.png'))
    return src


def convert(voc_root: str, sbd_root: str, nproc: int = 1) -> dict:
    voc_root, sbd_root = resolve_roots(voc_root, sbd_root)
    sets = osp.join(voc_root, 'ImageSets', 'Segmentation')
    voc_train = read_ids(osp.join(sets, 'train.txt'), 'VOC train list')
    voc_val = read_ids(osp.join(sets, 'val.txt'), 'VOC val list')
    sbd_ids = read_ids(osp.join(sbd_root, 'train.txt'), 'SBD train list') + \
        read_ids(osp.join(sbd_root, 'val.txt'), 'SBD val list')
    val = set(voc_val)
    trainaug = sorted((set(voc_train) | set(sbd_ids)) - val)
    aug = sorted(set(sbd_ids) - set(voc_train) - val)
    out_dir = osp.join(voc_root, 'SegmentationClassAug')
    os.makedirs(out_dir, exist_ok=True)
    # every id with a mask: VOC seg ids (train + val) and all SBD ids
    all_ids = sorted(set(voc_train) | val | set(sbd_ids))
    fn = partial(
        convert_one, voc_root=voc_root, sbd_root=sbd_root, out_dir=out_dir)
    if nproc > 1:
        srcs = track_parallel_progress(fn, all_ids, nproc=nproc)
    else:
        srcs = [fn(i) for i in track_iter_progress(all_ids)]
    atomic_write_lines(osp.join(sets, 'trainaug.txt'), trainaug)
    atomic_write_lines(osp.join(sets, 'aug.txt'), aug)
    if len(voc_train) == 1464 and len(trainaug) != AUG_LEN:
        print(f'WARNING: trainaug has {len(trainaug)} ids, expected '
              f'{AUG_LEN} on the real VOC2012 + SBD')
    return dict(
        trainaug=len(trainaug),
        aug=len(aug),
        from_voc=srcs.count('voc'),
        from_sbd=srcs.count('sbd'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('voc_root', help='VOCdevkit/VOC2012')
    parser.add_argument('sbd_root', help='SBD benchmark_RELEASE')
    parser.add_argument('--nproc', type=int, default=1)
    args = parser.parse_args()
    print(convert(args.voc_root, args.sbd_root, args.nproc))


if __name__ == '__main__':
    main()
