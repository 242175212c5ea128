# Copyright (c) mmbas contributors. All rights reserved.
"""The two dataset bases through minimal subclasses."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmbas.datasets import (BaseImageLabelDataset, BaseWSOLDataset,
                            StrictLoadImageFromFile)
from mmbas.utils.errors import BadInputError


class TinyWSOL(BaseWSOLDataset):
    """Own files: ``classes.txt`` and ``<split>.txt`` lines
    ``<file> <label> <x0> <y0> <x1> <y1>``."""
    SPLITS = ('train', )
    LAYOUT_HINT = 'set data_root to the tiny folder'

    def find_classes(self):
        return tuple(self.read_lines(self.resolve('classes.txt')))

    def load_data_list(self):
        if self.metadata_root:
            return self.load_box_metadata(self.data_prefix['img_path'])
        data_list = []
        for line in self.read_lines(self.ann_file):
            name, label, *box = line.split()
            data_list.append(
                self.make_data_info(
                    osp.join(self.data_prefix['img_path'], name), name,
                    [int(label)],
                    self.check_boxes([[float(v) for v in box]],
                                     name,
                                     self.ann_file,
                                     size=(8, 6))))
        return data_list


class TinyLabels(BaseImageLabelDataset):
    """``ann_file`` lines ``<id> <c1> <c2> ...``."""
    METAINFO = dict(classes=('background', 'cat', 'dog'))

    def load_data_list(self):
        seg_dir = self.seg_map_dir()
        data_list = []
        for line in self.read_lines(self.ann_file):
            img_id, *labels = line.split()
            extra = {}
            if seg_dir:
                extra['seg_map_path'] = osp.join(seg_dir, img_id + '.png')
            data_list.append(
                self.make_data_info(
                    osp.join(self.data_prefix['img_path'],
                             img_id + self.img_suffix), img_id,
                    [int(c) for c in labels], **extra))
        return data_list


def _tiny(tmp_path, lines=('a.png 1 0 0 4 3', 'b.png 0 2 1 8.5 6')):
    (tmp_path / 'img').mkdir(exist_ok=True)
    for name in ('a.png', 'b.png'):
        cv2.imwrite(
            str(tmp_path / 'img' / name), np.zeros((6, 8, 3), np.uint8))
    (tmp_path / 'classes.txt').write_text('bird\nfish\n')
    (tmp_path / 'train.txt').write_text('\n'.join(lines) + '\n')
    return dict(
        data_root=str(tmp_path),
        ann_file='train.txt',
        data_prefix=dict(img_path='img'))


def test_wsol_base_own_files(tmp_path):
    ds = TinyWSOL(**_tiny(tmp_path))
    assert ds.metainfo['classes'] == ('bird', 'fish')
    assert len(ds) == 2 and ds.split == 'train'
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_label'], [1])
    # 8.5 overshoots the 8 px wide image by less than 1 px: clipped
    np.testing.assert_array_equal(
        ds.get_data_info(1)['gt_bboxes'], [[2, 1, 8, 6]])
    assert ds.get_data_info(1)['gt_bboxes'].dtype == np.float32
    assert ds.image_list_file() == str(tmp_path / 'train.txt')
    # metainfo wins over find_classes
    ds = TinyWSOL(metainfo=dict(classes=('x', 'y')), **_tiny(tmp_path))
    assert ds.metainfo['classes'] == ('x', 'y')


def test_wsol_base_errors(tmp_path):
    with pytest.raises(
            ValueError,
            match=r"TinyWSOL split must be one of \('train',\), "
            "got 'val'"):
        TinyWSOL(split='val', **_tiny(tmp_path))
    with pytest.raises(
            ValueError,
            match='TinyWSOL: image b.png in .*train.txt has a box '
            r'\[2.0, 1.0, 10.0, 6.0\] outside the image '
            r'\(8x6 WxH, 1 px allowed\). Fix the box in'):
        TinyWSOL(**_tiny(tmp_path, ['a.png 1 0 0 4 3', 'b.png 0 2 1 10 6']))
    with pytest.raises(
            ValueError,
            match='TinyWSOL: image a.png in .*train.txt has a box '
            'with negative width or height'):
        TinyWSOL(**_tiny(tmp_path, ['a.png 1 4 0 3 3']))
    with pytest.raises(
            BadInputError, match='the image list .*train.txt '
            'gives no image'):
        TinyWSOL(**_tiny(tmp_path, []))


def test_wsol_base_metadata(tmp_path):
    cfg = _tiny(tmp_path)
    meta = tmp_path / 'meta' / 'val'
    meta.mkdir(parents=True)
    (meta / 'image_ids.txt').write_text('a.png\nb.png\n')
    (meta / 'class_labels.txt').write_text('a.png,0\nb.png,1\n')
    (meta / 'image_sizes.txt').write_text('a.png,8,6\nb.png,8,6\n')
    (meta / 'localization.txt'
     ).write_text('a.png,1,1,3,3\nb.png,0,0,2,2\nb.png,4,4,8,6\n')
    ds = TinyWSOL(split='val', metadata_root='meta', **cfg)
    assert ds.metadata_dir() == str(tmp_path / 'meta' / 'val')
    assert ds.image_list_file() == str(meta / 'image_ids.txt')
    np.testing.assert_array_equal(
        ds.get_data_info(1)['gt_bboxes'], [[0, 0, 2, 2], [4, 4, 8, 6]])
    # a box beyond image_sizes.txt names localization.txt
    (meta / 'localization.txt').write_text('a.png,1,1,3,3\nb.png,0,0,2,9\n')
    with pytest.raises(
            ValueError,
            match='image b.png in .*localization.txt'
            ' has a box .* outside the image'):
        TinyWSOL(split='val', metadata_root='meta', **cfg)
    # a missing image names the metadata list it came from
    (meta / 'localization.txt').write_text('a.png,1,1,3,3\nb.png,0,0,2,2\n')
    (tmp_path / 'img' / 'b.png').unlink()
    ds = TinyWSOL(
        split='val',
        metadata_root='meta',
        pipeline=[StrictLoadImageFromFile()],
        **cfg)
    with pytest.raises(
            FileNotFoundError,
            match='b.png does not exist.*image b.png of the '
            'list .*meta/val/image_ids.txt'):
        ds[1]


def test_image_label_base(tmp_path):
    cfg = _tiny(tmp_path)
    (tmp_path / 'ids.txt').write_text('a 1 0 1\nb 1\n')
    ds = TinyLabels(
        data_root=cfg['data_root'],
        ann_file='ids.txt',
        img_suffix='.png',
        data_prefix=dict(img_path='img', seg_map_path=None))
    assert ds.fg_classes == ('cat', 'dog')
    assert ds.metainfo['classes'][0] == 'background'
    assert 'seg_map_path' not in ds.data_prefix  # None dropped
    info = ds.get_data_info(0)
    np.testing.assert_array_equal(info['gt_label'], [0, 1])  # sorted, once
    assert info['gt_label'].dtype == np.int64
    assert info['img_path'] == str(tmp_path / 'img' / 'a.png')
    assert info['seg_fields'] == [] and 'seg_map_path' not in info
    with pytest.raises(
            FileNotFoundError,
            match='TinyLabels: segmentation dir .*seg does not '
            'exist'):
        TinyLabels(
            data_root=cfg['data_root'],
            ann_file='ids.txt',
            data_prefix=dict(img_path='img', seg_map_path='seg'))
    (tmp_path / 'ids.txt').write_text('\n\n')
    with pytest.raises(BadInputError, match='ids.txt gives no image'):
        TinyLabels(
            data_root=cfg['data_root'],
            ann_file='ids.txt',
            data_prefix=dict(img_path='img'))
