# Copyright (c) mmbas contributors. All rights reserved.
"""COCO 2014 -> image-level labels + 81-class semantic PNGs (WSSS).

    python tools/dataset_converters/coco2014.py COCO_ROOT [--nproc N]
        [--splits train2014 val2014]

Reads ``COCO_ROOT/annotations/instances_{split}.json`` (pycocotools) and
writes, atomically and rerunnably:

* ``COCO_ROOT/SegmentationClass/{split}/<file stem>.png``: uint8 label map,
  0 background, k+1 = k-th category in COCO category-id order (1 person ...
  80 toothbrush), 255 ignore where instances of *different* categories
  overlap and where a crowd region (``iscrowd=1``) covers no non-crowd
  instance; every image of the json gets a PNG (the layout of
  ``configs/_base_/datasets/coco14_cls.py``: ``SegmentationClass/val2014``);
* ``COCO_ROOT/ImageSets/{split}.txt``: file stems of the images with at
  least one annotation (``COCOClsDataset(skip_empty=True)``'s set);
* ``COCO_ROOT/ImageSets/{split}_cls_labels.txt``: ``<stem> <c1> <c2> ...``
  0-based class indices of all annotations (crowd included, as
  ``COCOClsDataset(include_crowd=True)``), the VOC label txt format.
"""
import argparse
import contextlib
import io
import os
import os.path as osp
from functools import partial

import numpy as np
from mmengine.utils import track_iter_progress, track_parallel_progress
from PIL import Image

_COCO = {}


def load_coco(ann_file: str):
    if ann_file not in _COCO:
        from pycocotools.coco import COCO
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'annotation file not found: {ann_file}')
        with contextlib.redirect_stdout(io.StringIO()):
            _COCO[ann_file] = COCO(ann_file)
    return _COCO[ann_file]


def semantic_mask(coco, img_id: int, cat_to_label: dict) -> np.ndarray:
    """81-class map of one image (see the module doc for the 255 rule)."""
    info = coco.imgs[img_id]
    h, w = info['height'], info['width']
    label = np.zeros((h, w), np.uint8)
    crowd = np.zeros((h, w), bool)
    for ann in coco.imgToAnns.get(img_id, []):
        m = coco.annToMask(ann).astype(bool)
        if m.shape != (h, w):
            raise ValueError(f'mask of annotation {ann["id"]} has shape '
                             f'{m.shape}, image {img_id} is {(h, w)}')
        if ann.get('iscrowd', 0):
            crowd |= m
            continue
        c = cat_to_label[ann['category_id']]
        free = m & (label == 0)
        clash = m & (label != 0) & (label != c)
        label[free] = c
        label[clash] = 255
    label[crowd & (label == 0)] = 255
    return label


def _write_one(img_id: int, ann_file: str, out_dir: str,
               cat_to_label: dict) -> None:
    coco = load_coco(ann_file)
    stem = osp.splitext(coco.imgs[img_id]['file_name'])[0]
    path = osp.join(out_dir, f'{stem}.png')
    tmp = f'{path}.tmp{os.getpid()}.png'
    Image.fromarray(semantic_mask(coco, img_id, cat_to_label)).save(tmp)
    os.replace(tmp, path)


def _write_lines(path: str, lines) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.writelines(x + '\n' for x in lines)
    os.replace(tmp, path)


def convert_split(coco_root: str, split: str, nproc: int = 1) -> dict:
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    coco = load_coco(ann_file)
    cat_ids = sorted(coco.cats)
    if len(cat_ids) != 80:
        raise ValueError(f'{ann_file} has {len(cat_ids)} categories, '
                         'expected the 80 COCO categories')
    cat_to_label = {cid: i + 1 for i, cid in enumerate(cat_ids)}
    out_dir = osp.join(coco_root, 'SegmentationClass', split)
    sets_dir = osp.join(coco_root, 'ImageSets')
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(sets_dir, exist_ok=True)
    img_ids = sorted(coco.imgs)
    fn = partial(
        _write_one,
        ann_file=ann_file,
        out_dir=out_dir,
        cat_to_label=cat_to_label)
    if nproc > 1:
        track_parallel_progress(fn, img_ids, nproc=nproc)
    else:
        for i in track_iter_progress(img_ids):
            fn(i)
    stems, label_lines = [], []
    for img_id in img_ids:
        anns = coco.imgToAnns.get(img_id, [])
        if not anns:
            continue
        stem = osp.splitext(coco.imgs[img_id]['file_name'])[0]
        labels = sorted({cat_to_label[a['category_id']] - 1 for a in anns})
        stems.append(stem)
        label_lines.append(' '.join([stem] + [str(c) for c in labels]))
    _write_lines(osp.join(sets_dir, f'{split}.txt'), stems)
    _write_lines(osp.join(sets_dir, f'{split}_cls_labels.txt'), label_lines)
    return dict(split=split, images=len(img_ids), listed=len(stems))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('coco_root')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument(
        '--splits', nargs='+', default=['train2014', 'val2014'])
    args = parser.parse_args()
    for split in args.splits:
        print(convert_split(args.coco_root, split, args.nproc))


if __name__ == '__main__':
    main()
