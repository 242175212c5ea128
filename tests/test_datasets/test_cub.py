# Copyright (c) mmbas contributors. All rights reserved.
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS


def _cub(root, **kw):
    cfg = dict(type='CUBDataset', data_root=root)
    cfg.update(kw)
    return DATASETS.build(cfg)


def _copy(toy, tmp_path):
    src = osp.dirname(toy['cub']['root'])
    for name in ('CUB_200_2011', 'segmentations'):
        shutil.copytree(osp.join(src, name), tmp_path / name)
    return str(tmp_path / 'CUB_200_2011')


@pytest.mark.parametrize('split', ['train', 'test'])
def test_cub_labels_boxes(toy, split):
    man = toy['cub']
    ds = _cub(man['root'], split=split)
    recs = man['splits'][split]
    assert len(ds) == len(recs)
    assert ds.metainfo['classes'] == tuple(man['classes'])
    by_id = {r['id']: r for r in recs}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rec = by_id[info['img_id']]
        np.testing.assert_array_equal(info['gt_label'], rec['labels'])
        x0, y0, x1, y1 = rec['objects'][0]['bbox']  # inclusive pixels
        # bounding_boxes.txt w = x1 - x0 + 1 -> box = [x, y, x + w, y + h]
        np.testing.assert_allclose(info['gt_bboxes'],
                                   [[x0, y0, x1 + 1, y1 + 1]])
        assert info['gt_bboxes'].dtype == np.float32


def test_cub_masks_through_test_pipeline(toy):
    man = toy['cub']
    ds = _cub(
        man['root'],
        split='test',
        mask_dir='../segmentations',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadWSOLAnnotations'),
            dict(type='Resize', scale=(64, 64)),
            dict(type='WSOLCenterCrop', crop_size=56),
            dict(type='PackBASInputs')
        ])
    out = ds[0]
    s = out['data_samples']
    assert out['inputs'].shape == (3, 56, 56)
    assert s.gt_mask.data.shape == (1, 56, 56)
    # the box of the mask equals the transformed gt box (within 1.5 px)
    ys, xs = np.nonzero(s.gt_mask.data[0].numpy())
    mask_box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    np.testing.assert_allclose(s.gt_bboxes[0].numpy(), mask_box, atol=1.5)


def test_cub_metadata_mode(toy, tmp_path):
    man = toy['cub']
    meta = tmp_path / 'metadata' / 'CUB' / 'test'
    meta.mkdir(parents=True)
    recs = man['splits']['test']
    ids, labels, sizes, locs = [], [], [], []
    for r in recs:
        ids.append(r['relpath'])
        labels.append(f"{r['relpath']},{r['labels'][0]}")
        sizes.append(f"{r['relpath']},{r['width']},{r['height']}")
        x0, y0, x1, y1 = r['objects'][0]['bbox']
        locs.append(f"{r['relpath']},{x0},{y0},{x1 + 1},{y1 + 1}")
    for name, lines in (('image_ids', ids), ('class_labels', labels),
                        ('image_sizes', sizes), ('localization', locs)):
        (meta / f'{name}.txt').write_text('\n'.join(lines) + '\n')
    ds = _cub(
        man['root'],
        split='test',
        metadata_root=str(tmp_path / 'metadata' / 'CUB'))
    ref = _cub(man['root'], split='test')
    assert len(ds) == len(ref) == len(recs)
    got = {
        ds.get_data_info(i)['img_path']: ds.get_data_info(i)
        for i in range(len(ds))
    }
    for i in range(len(ref)):
        r = ref.get_data_info(i)
        np.testing.assert_allclose(got[r['img_path']]['gt_bboxes'],
                                   r['gt_bboxes'])
        np.testing.assert_array_equal(got[r['img_path']]['gt_label'],
                                      r['gt_label'])
    # id missing from localization.txt -> error naming id and file
    (meta / 'localization.txt').write_text('\n'.join(locs[1:]) + '\n')
    with pytest.raises(ValueError, match=f"{ids[0]}.*localization.txt"):
        _cub(
            man['root'],
            split='test',
            metadata_root=str(tmp_path / 'metadata' / 'CUB'))
    # box outside the image (image_sizes.txt known)
    bad = locs[:]
    bad[0] = f"{ids[0]},0,0,{recs[0]['width'] + 20},5"
    (meta / 'localization.txt').write_text('\n'.join(bad) + '\n')
    with pytest.raises(ValueError, match=f'{ids[0]}.*outside the image'):
        _cub(
            man['root'],
            split='test',
            metadata_root=str(tmp_path / 'metadata' / 'CUB'))


def test_cub_errors(toy, tmp_path):
    with pytest.raises(
            FileNotFoundError, match='CUB_200_2011 folder.*make_toy_data'):
        _cub(str(tmp_path / 'missing'))
    root = _copy(toy, tmp_path)
    # negative width in bounding_boxes.txt
    path = osp.join(root, 'bounding_boxes.txt')
    lines = open(path).read().splitlines()
    first_id = lines[0].split()[0]
    lines[0] = f'{first_id} 10.0 10.0 -5.0 4.0'
    open(path, 'w').write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=f'image {first_id} .*negative'):
        _cub(
            root,
            split='train'
            if toy['cub']['splits']['train'][0]['id'] == first_id else 'test')
    # id listed in images.txt but missing from image_class_labels.txt
    path = osp.join(root, 'image_class_labels.txt')
    lines = open(path).read().splitlines()
    open(path, 'w').write('\n'.join(lines[1:]) + '\n')
    with pytest.raises(
            ValueError, match='image id 1 .*image_class_labels.txt'):
        _cub(root)
    # mask-image size mismatch names the image
    shutil.rmtree(root)
    shutil.rmtree(tmp_path / 'segmentations')
    root = _copy(toy, tmp_path)
    ds = _cub(
        root,
        split='test',
        mask_dir='../segmentations',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadWSOLAnnotations')
        ])
    info = ds.get_data_info(0)
    cv2.imwrite(info['mask_paths'][0], np.zeros((7, 9), np.uint8))
    with pytest.raises(ValueError, match=f"image {info['img_path']} is"):
        ds[0]
    assert os.path.isfile(info['img_path'])
