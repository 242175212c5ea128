# Copyright (c) mmbas contributors. All rights reserved.
"""Image-level VOC labels from the XML annotations (never from masks).

    python tools/dataset_converters/voc_cls_labels.py VOC_ROOT \
        --split trainaug --out data/voc_cls_labels_trainaug.txt

Writes ``<id> <c1> <c2> ...`` lines (0-based foreground indices, 0 =
aeroplane ... 19 = tvmonitor; every ``<object>`` counts, difficult ones
included, parts ignored), the ``.txt`` format of
``VOCClsDataset(label_file=...)``. On the real VOC2012 every trainaug id
(SBD-only ids included) has an XML in ``Annotations``; ids without one are
listed in the error.
"""
import argparse
import os
import os.path as osp
import xml.etree.ElementTree as ET

from mmengine.utils import track_iter_progress

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')


def xml_labels(path: str) -> list:
    labels = set()
    for obj in ET.parse(path).getroot().findall('object'):
        name = obj.findtext('name', '').strip()
        if name not in VOC_CLASSES:
            raise ValueError(f'unknown class {name!r} in {path}')
        labels.add(VOC_CLASSES.index(name))
    return sorted(labels)


def make_labels(voc_root: str, split: str, out: str) -> int:
    if osp.isdir(osp.join(voc_root, 'VOC2012')):
        voc_root = osp.join(voc_root, 'VOC2012')
    list_file = osp.join(voc_root, 'ImageSets', 'Segmentation', f'{split}.txt')
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'id list not found: {list_file}')
    ids = [x.strip() for x in open(list_file) if x.strip()]
    missing = [
        i for i in ids
        if not osp.isfile(osp.join(voc_root, 'Annotations', f'{i}.xml'))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} ids of {list_file} have no XML in '
            f'{osp.join(voc_root, "Annotations")}: {missing[:20]}' +
            (' ...' if len(missing) > 20 else ''))
    lines = []
    for i in track_iter_progress(ids):
        labels = xml_labels(osp.join(voc_root, 'Annotations', f'{i}.xml'))
        if not labels:
            raise ValueError(f'{i}.xml has no object')
        lines.append(' '.join([i] + [str(c) for c in labels]))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'{out}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write('# <id> <0-based VOC foreground class indices> (from XML)\n')
        f.writelines(x + '\n' for x in lines)
    os.replace(tmp, out)
    return len(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('voc_root', help='VOCdevkit/VOC2012')
    parser.add_argument('--split', default='trainaug')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    n = make_labels(args.voc_root, args.split, args.out)
    print(f'{n} images -> {args.out}')


if __name__ == '__main__':
    main()
