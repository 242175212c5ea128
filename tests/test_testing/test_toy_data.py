# Copyright (c) mmbas contributors. All rights reserved.
"""Tests of the deterministic toy datasets (``mmbas.testing.toy_data``)."""
import json
import os
import os.path as osp
import runpy
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import cv2
import numpy as np
import pytest
from PIL import Image

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
try:
    import mmbas.testing  # noqa: F401
except ImportError:  # source checkout, package not installed
    sys.path.insert(0, _REPO)

from mmbas.testing import (COCO_CATEGORY_IDS, COCO_CLASSES, MAX_TOY_CLASSES,
                           VOC_CLASSES, make_all, make_cub, make_voc,
                           part_appearance, render_scene, voc_palette)


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """All five datasets with default settings, seed 0."""
    root = str(tmp_path_factory.mktemp('toy_a'))
    return root, make_all(root, seed=0)


def _records(manifest):
    return [rec for recs in manifest['splits'].values() for rec in recs]


def _all_objects(manifests):
    return [
        obj for manifest in manifests.values() for rec in _records(manifest)
        for obj in rec['objects']
    ]


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            out[osp.relpath(path, root)] = path
    return out


def _read_png(path):
    return np.array(Image.open(path))


def _mask_bbox(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def _read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _xml_boxes(path):
    root = ET.parse(path).getroot()
    size = root.find('size')
    wh = int(size.find('width').text), int(size.find('height').text)
    boxes = []
    for obj in root.findall('object'):
        box = obj.find('bndbox')
        boxes.append(
            (obj.find('name').text, int(obj.find('difficult').text),
             [int(box.find(t).text)
              for t in ('xmin', 'ymin', 'xmax', 'ymax')]))
    return wh, boxes


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------
def test_same_seed_is_byte_identical(toy, tmp_path):
    root_a, manifests_a = toy
    root_b = str(tmp_path / 'toy_b')
    manifests_b = make_all(root_b, seed=0)
    files_a, files_b = _files(root_a), _files(root_b)
    assert sorted(files_a) == sorted(files_b)
    for rel, path_a in files_a.items():
        path_b = files_b[rel]
        if rel.lower().endswith(('.jpg', '.jpeg')):
            # bytes depend on the encoder build, decoded pixels must match
            assert np.array_equal(cv2.imread(path_a), cv2.imread(path_b)), rel
            continue
        with open(path_a, 'rb') as fa, open(path_b, 'rb') as fb:
            assert fa.read() == fb.read(), rel
        if rel.endswith('.png'):
            assert np.array_equal(_read_png(path_a), _read_png(path_b))
    dump_a = json.dumps(manifests_a).replace(root_a, '<root>')
    dump_b = json.dumps(manifests_b).replace(root_b, '<root>')
    assert dump_a == dump_b


def test_different_seed_differs(toy, tmp_path):
    root_a, manifests_a = toy
    root_c = str(tmp_path / 'toy_c')
    manifests_c = make_all(root_c, seed=1, datasets=['voc', 'coco', 'cub'])
    for rel in ('coco/annotations/instances_train2014.json',
                'CUB_200_2011/bounding_boxes.txt',
                'VOCdevkit/VOC2012/Annotations/2008_000001.xml',
                'VOCdevkit/VOC2012/SegmentationClassAug/2008_000001.png'):
        with open(osp.join(root_a, rel), 'rb') as fa, \
                open(osp.join(root_c, rel), 'rb') as fc:
            assert fa.read() != fc.read(), rel
    img_a = cv2.imread(manifests_a['voc']['splits']['train'][0]['img_path'])
    img_c = cv2.imread(manifests_c['voc']['splits']['train'][0]['img_path'])
    assert img_a.shape != img_c.shape or not np.array_equal(img_a, img_c)


def test_prefix_stability(tmp_path):
    """More images do not change the first ones (per-image streams)."""
    small = make_cub(str(tmp_path / 's'), num_train=4, num_val=2)
    large = make_cub(str(tmp_path / 'l'), num_train=8, num_val=2)
    box = {r['relpath']: r['objects'] for r in small['splits']['train']}
    box_large = {r['relpath']: r['objects'] for r in large['splits']['train']}
    for relpath, objects in box.items():
        assert box_large[relpath] == objects


# --------------------------------------------------------------------------
# generic properties
# --------------------------------------------------------------------------
def test_manifest_paths_exist_and_sizes(toy):
    _, manifests = toy
    for manifest in manifests.values():
        for rec in _records(manifest):
            img = cv2.imread(rec['img_path'])
            assert img is not None, rec['img_path']
            assert img.shape == (rec['height'], rec['width'], 3)
            assert rec['objects'], rec['id']
            for obj in rec['objects']:
                x0, y0, x1, y1 = obj['bbox']
                assert 0 <= x0 <= x1 < rec['width']
                assert 0 <= y0 <= y1 < rec['height']
                assert obj['area'] <= (x1 - x0 + 1) * (y1 - y0 + 1)
    sizes = {(r['height'], r['width']) for r in _records(manifests['voc'])}
    assert len(sizes) > 2 and any(h != w for h, w in sizes)
    objects = _all_objects(manifests)
    assert any(o['truncated'] for o in objects)
    assert any(o['occluded'] for o in objects)


def test_part_property_manifest(toy):
    _, manifests = toy
    for obj in _all_objects(manifests):
        assert 0.05 < obj['part_fraction'] < 0.3
        assert 0 < obj['part_area'] < 0.3 * obj['area']


def test_render_scene_exact_maps():
    rng = np.random.default_rng(123)
    scene = render_scene(rng, 96, 120, [0, 1, 2])
    image, inst, parts = scene['image'], scene['instances'], scene['parts']
    assert image.shape == (96, 120, 3) and inst.shape == (96, 120)
    assert not (parts & (inst == 0)).any()
    for inst_id, obj in enumerate(scene['objects'], start=1):
        visible = inst == inst_id
        assert visible.sum() == obj['area']
        assert _mask_bbox(visible) == obj['bbox']
        colour, _ = part_appearance(obj['label'])
        part_pix = image[visible & parts].astype(float)
        assert np.abs(part_pix.mean(0) - colour).max() < 8
        body_pix = image[visible & ~parts].astype(float)
        # neutral gray body: channels nearly equal, intensity mid-range
        assert np.abs(body_pix.mean(0) - body_pix.mean()).max() < 8
        assert 110 < body_pix.mean() < 185


def test_part_appearance_distinct():
    pairs = {part_appearance(k) for k in range(MAX_TOY_CLASSES)}
    assert len(pairs) == MAX_TOY_CLASSES
    with pytest.raises(ValueError):
        part_appearance(MAX_TOY_CLASSES)


def test_body_class_independent_on_disk(toy):
    """Inside CUB masks, bodies look alike for all classes; parts differ."""
    _, manifests = toy
    body_mean, part_mean = defaultdict(list), defaultdict(list)
    for rec in _records(manifests['cub']):
        img = cv2.imread(rec['img_path'])
        mask = _read_png(rec['seg_path']) == 255
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        saturated = hsv[..., 1] > 100
        label = rec['labels'][0]
        assert (mask & saturated).sum() < 0.3 * mask.sum()
        body = mask & ~saturated
        body = cv2.erode(body.astype(np.uint8), np.ones((3, 3))) > 0
        body_mean[label].append(img[body].astype(float).mean(0))
        part_mean[label].append(img[mask & saturated].astype(float).mean(0))
    bodies = np.array([np.mean(v, 0) for v in body_mean.values()])
    parts = np.array([np.mean(v, 0) for v in part_mean.values()])
    assert np.ptp(bodies, 0).max() < 25  # class independent body colour
    dists = np.linalg.norm(parts[:, None] - parts[None], axis=-1)
    assert dists[~np.eye(len(parts), dtype=bool)].min() > 60


def test_multi_class_images(toy):
    _, manifests = toy
    for name in ('voc', 'coco'):
        recs = _records(manifests[name])
        multi = sum(len(r['labels']) >= 2 for r in recs)
        assert multi >= 0.4 * len(recs), name
        assert len({lb for r in recs for lb in r['labels']}) >= 3


# --------------------------------------------------------------------------
# per layout
# --------------------------------------------------------------------------
def test_voc_layout(toy):
    root, manifests = toy
    voc = manifests['voc']
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    assert voc['root'] == data_root
    sets = osp.join(data_root, 'ImageSets', 'Segmentation')
    train = _read_lines(osp.join(sets, 'train.txt'))
    val = _read_lines(osp.join(sets, 'val.txt'))
    trainaug = _read_lines(osp.join(sets, 'trainaug.txt'))
    assert set(train) < set(trainaug) and not set(val) & set(trainaug)
    assert train == [r['id'] for r in voc['splits']['train']]
    palette = voc_palette()
    for rec in _records(voc):
        img_id = rec['id']
        assert osp.isfile(osp.join(data_root, 'JPEGImages', f'{img_id}.jpg'))
        (width, height), boxes = _xml_boxes(
            osp.join(data_root, 'Annotations', f'{img_id}.xml'))
        assert (width, height) == (rec['width'], rec['height'])
        aug = _read_png(
            osp.join(data_root, 'SegmentationClassAug', f'{img_id}.png'))
        assert aug.dtype == np.uint8 and aug.shape == (height, width)
        assert set(np.unique(aug)) <= set(range(21)) | {255}
        assert 255 in aug
        is_seg = img_id in train or img_id in val
        seg_path = osp.join(data_root, 'SegmentationClass', f'{img_id}.png')
        assert osp.isfile(seg_path) == is_seg
        for (name, difficult, box), obj in zip(boxes, rec['objects']):
            assert name == obj['name'] and difficult == 0
            assert box == [v + 1 for v in obj['bbox']]  # 1-based inclusive
            assert 1 <= box[0] <= box[2] <= width
            assert 1 <= box[1] <= box[3] <= height
        assert len(boxes) == len(rec['objects'])
        if not is_seg:
            continue
        seg_img = Image.open(seg_path)
        assert seg_img.mode == 'P'
        assert seg_img.getpalette()[:63] == palette[:63]
        seg = np.array(seg_img)
        assert np.array_equal(seg, aug)
        inst = _read_png(
            osp.join(data_root, 'SegmentationObject', f'{img_id}.png'))
        for inst_id, obj in enumerate(rec['objects'], start=1):
            pixels = inst == inst_id
            assert (seg[pixels] == VOC_CLASSES.index(obj['name']) + 1).all()
            inner = _mask_bbox(pixels)
            outer = obj['bbox']
            # the 255 band eats ~1 px of the object (a bit more at the
            # tips of triangle parts): the exact box encloses the labels
            assert inner[0] >= outer[0] and inner[1] >= outer[1]
            assert inner[2] <= outer[2] and inner[3] <= outer[3]
            assert max(abs(a - b) for a, b in zip(inner, outer)) <= 4
            x0, y0, x1, y1 = outer
            assert pixels[y0:y1 + 1, x0:x1 + 1].sum() == pixels.sum()
        # class and instance maps share the same foreground and void band
        assert np.array_equal((seg == 0) | (seg == 255),
                              (inst == 0) | (inst == 255))
        assert np.array_equal(seg == 255, inst == 255)


def test_coco_layout(toy):
    root, manifests = toy
    coco = manifests['coco']
    for split, folder in (('train', 'train2014'), ('val', 'val2014')):
        with open(
                osp.join(root, 'coco', 'annotations',
                         f'instances_{folder}.json')) as f:
            data = json.load(f)
        cats = data['categories']
        assert [c['id'] for c in cats] == list(COCO_CATEGORY_IDS)
        assert [c['name'] for c in cats] == list(COCO_CLASSES)
        assert len(cats) == 80 and cats[-1]['id'] == 90
        cat_index = {c['id']: i for i, c in enumerate(cats)}
        images = {im['id']: im for im in data['images']}
        records = {r['coco_id']: r for r in coco['splits'][split]}
        assert set(images) == set(records)
        anns = defaultdict(list)
        for ann in data['annotations']:
            anns[ann['image_id']].append(ann)
        for img_id, im in images.items():
            rec = records[img_id]
            path = osp.join(root, 'coco', folder, im['file_name'])
            assert im['file_name'] == f'COCO_{folder}_{img_id:012d}.jpg'
            assert cv2.imread(path).shape[:2] == (im['height'], im['width'])
            exact = _read_png(rec['exact_mask_path'])
            assert exact.shape == (im['height'], im['width'])
            assert len(anns[img_id]) == len(rec['objects'])
            for ann, obj in zip(anns[img_id], rec['objects']):
                assert ann['iscrowd'] == 0
                label = cat_index[ann['category_id']]
                assert label == obj['label']
                x, y, w, h = ann['bbox']
                assert [x, y, x + w - 1, y + h - 1] == obj['bbox']
                region = exact == label + 1
                poly = np.zeros_like(exact)
                cv2.fillPoly(poly, [
                    np.round(np.array(p).reshape(-1, 2)).astype(np.int32)
                    for p in ann['segmentation']
                ], 1)
                poly = poly.astype(bool)
                assert not (poly & ~region).any()
                if sum(o['label'] == label for o in rec['objects']) == 1:
                    assert _mask_bbox(region) == obj['bbox']
                    assert region.sum() == ann['area']
                    iou = (poly & region).sum() / (poly | region).sum()
                    assert iou > 0.9


def test_cub_layout(toy):
    root, manifests = toy
    cub = manifests['cub']
    base = osp.join(root, 'CUB_200_2011')

    def table(name):
        return dict(
            line.split(' ', 1) for line in _read_lines(osp.join(base, name)))

    images, labels = table('images.txt'), table('image_class_labels.txt')
    split, boxes = table('train_test_split.txt'), table('bounding_boxes.txt')
    classes = table('classes.txt')
    assert len(images) == len(labels) == len(split) == len(boxes) == 24
    assert sum(v == '1' for v in split.values()) == 16
    by_id = {str(r['image_id']): r for r in _records(cub)}
    for img_id, relpath in images.items():
        assert relpath.split('/')[0] == classes[labels[img_id]]
        assert osp.isfile(osp.join(base, 'images', relpath))
        seg = _read_png(
            osp.join(root, 'segmentations', relpath.replace('.jpg', '.png')))
        assert set(np.unique(seg)) == {0, 255}
        x, y, w, h = (float(v) for v in boxes[img_id].split())
        x0, y0, x1, y1 = _mask_bbox(seg == 255)
        assert (x, y, w, h) == (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
        rec = by_id[img_id]
        assert rec['objects'][0]['bbox'] == [x0, y0, x1, y1]
        assert rec['is_train'] == (split[img_id] == '1')


def test_ilsvrc_layout(toy):
    root, manifests = toy
    ilsvrc = manifests['ilsvrc']
    base = osp.join(root, 'ILSVRC')
    wnids = _read_lines(osp.join(base, 'classes.txt'))
    for line in _read_lines(osp.join(base, 'train.txt')):
        rel, label = line.split()
        assert rel.split('/')[0] == wnids[int(label)]
        assert osp.isfile(osp.join(base, 'train', rel))
    assert max(len(r['objects']) for r in ilsvrc['splits']['val']) == 2
    for rec in ilsvrc['splits']['val']:
        (width, height), boxes = _xml_boxes(rec['ann_path'])
        assert (width, height) == (rec['width'], rec['height'])
        assert [b for _, _, b in boxes] == [[v + 1 for v in o['bbox']]
                                            for o in rec['objects']]
        assert {n for n, _, _ in boxes} == {wnids[rec['labels'][0]]}
    for split in ('train', 'val'):
        meta = osp.join(root, 'metadata', 'ILSVRC', split)
        recs = ilsvrc['splits'][split]
        ids = _read_lines(osp.join(meta, 'image_ids.txt'))
        assert ids == [r['relpath'] for r in recs]
        assert all(osp.isfile(osp.join(base, p)) for p in ids)
        labels = dict(
            ln.split(',')
            for ln in _read_lines(osp.join(meta, 'class_labels.txt')))
        assert [int(labels[r['relpath']])
                for r in recs] == [r['labels'][0] for r in recs]
        loc = [
            ln.split(',')
            for ln in _read_lines(osp.join(meta, 'localization.txt'))
        ]
        expected = [[r['relpath']] + [str(v) for v in o['bbox']] for r in recs
                    for o in r['objects']]
        assert loc == expected
        assert len(_read_lines(osp.join(meta, 'image_sizes.txt'))) == len(recs)


def test_openimages_layout(toy):
    root, manifests = toy
    oi = manifests['openimages']
    base = osp.join(root, 'OpenImages')
    assert not osp.exists(
        osp.join(root, 'metadata', 'OpenImages', 'train', 'localization.txt'))
    for split in ('train', 'val', 'test'):
        meta = osp.join(root, 'metadata', 'OpenImages', split)
        recs = oi['splits'][split]
        ids = _read_lines(osp.join(meta, 'image_ids.txt'))
        assert ids == [r['relpath'] for r in recs]
        for rec in recs:
            assert rec['relpath'].split('/')[1] == oi['class_ids'][
                rec['labels'][0]]
            assert osp.isfile(osp.join(base, rec['relpath']))
        if split == 'train':
            continue
        loc = [
            ln.split(',')
            for ln in _read_lines(osp.join(meta, 'localization.txt'))
        ]
        assert len(loc) == sum(len(r['objects']) for r in recs)
        assert any(len(r['objects']) == 2 for r in recs)
        for rec in recs:
            ignore = _read_png(osp.join(base, rec['ignore_path']))
            assert set(np.unique(ignore)) == {0, 255}
            union = np.zeros_like(ignore, dtype=bool)
            for mask_path, obj in zip(rec['mask_paths'], rec['objects']):
                assert [rec['relpath'], mask_path, rec['ignore_path']] in loc
                mask = _read_png(osp.join(base, mask_path))
                assert set(np.unique(mask)) == {0, 255}
                assert _mask_bbox(mask == 255) == obj['bbox']
                assert (mask == 255).sum() == obj['area']
                assert not (union & (mask == 255)).any()
                union |= mask == 255


# --------------------------------------------------------------------------
# CLI and argument checks
# --------------------------------------------------------------------------
def test_cli(tmp_path, capsys):
    script = runpy.run_path(
        osp.join(_REPO, 'tools', 'misc', 'make_toy_data.py'),
        run_name='make_toy_data')
    out = str(tmp_path / 'cli')
    script['main']([
        '--out', out, '--datasets', 'cub', 'voc', '--seed', '3', '--num-train',
        '4', '--num-val', '2', '--size', '64'
    ])
    assert 'cub' in capsys.readouterr().out
    with open(osp.join(out, 'toy_manifest.json')) as f:
        manifest = json.load(f)
    assert set(manifest) == {'cub', 'voc'}
    assert len(manifest['voc']['splits']['train']) == 4
    assert all(
        max(r['width'], r['height']) == 64
        for r in manifest['voc']['splits']['val'])


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        make_voc(str(tmp_path), num_classes=21)
    with pytest.raises(ValueError):
        make_voc(str(tmp_path), size=32)
    with pytest.raises(ValueError):
        make_all(str(tmp_path), datasets=['kitti'])
