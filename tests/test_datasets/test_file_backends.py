# Copyright (c) mmbas contributors. All rights reserved.
"""Datasets and loading transforms read every file through mmengine ``fileio``:

a toy VOC and a toy CUB served by an in-memory backend (no local path of them
exists) load like the local copies.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np
import pytest
from mmengine.fileio import register_backend
from mmengine.fileio.backends import BaseStorageBackend
from mmseg.registry import DATASETS

#: path -> bytes of every file the backend serves
_FILES: Dict[str, bytes] = {}


class MemoryBackend(BaseStorageBackend):
    """Files held in :data:`_FILES`; a folder exists when a file lies under it.

    Counts its reads in ``reads``.
    """

    reads = 0

    def get(self, filepath) -> bytes:
        filepath = str(filepath)
        if filepath not in _FILES:
            raise FileNotFoundError(f'memtest: no file {filepath}')
        MemoryBackend.reads += 1
        return _FILES[filepath]

    def get_text(self, filepath, encoding='utf-8') -> str:
        return self.get(filepath).decode(encoding)

    def isfile(self, filepath) -> bool:
        return str(filepath) in _FILES

    def isdir(self, filepath) -> bool:
        prefix = str(filepath).rstrip('/') + '/'
        return any(k.startswith(prefix) for k in _FILES)

    def exists(self, filepath) -> bool:
        return self.isfile(filepath) or self.isdir(filepath)

    def join_path(self, filepath, *filepaths) -> str:
        return '/'.join([str(filepath).rstrip('/')] +
                        [str(p).strip('/') for p in filepaths])

    def list_dir_or_file(self,
                         dir_path,
                         list_dir=True,
                         list_file=True,
                         suffix=None,
                         recursive=False):
        prefix = str(dir_path).rstrip('/') + '/'
        seen = set()
        for key in sorted(_FILES):
            if not key.startswith(prefix):
                continue
            parts = key[len(prefix):].split('/')
            if list_dir and len(parts) > 1 and parts[0] not in seen:
                seen.add(parts[0])
                yield parts[0]
            if list_file and len(parts) == 1:
                yield parts[0]


register_backend('memtest', MemoryBackend, prefixes='memtest', force=True)


def _serve(local_root: str, root: str) -> None:
    """Put every file under ``local_root`` into the backend at ``root``."""
    for dirpath, _, names in os.walk(local_root):
        for name in names:
            path = osp.join(dirpath, name)
            rel = osp.relpath(path, local_root).replace(os.sep, '/')
            with open(path, 'rb') as f:
                _FILES[f'{root}/{rel}'] = f.read()


LOAD = [
    dict(type='StrictLoadImageFromFile', backend_args=None),
    dict(type='LoadWSOLAnnotations', backend_args=None),
]


def _pipeline(backend_args):
    return [dict(t, backend_args=backend_args) for t in LOAD]


def _same(local, remote, root_local, root_remote):
    """Same samples, paths moved from one root to the other, and the loaded
    arrays equal."""
    assert len(local) == len(remote) > 0
    assert local.metainfo['classes'] == remote.metainfo['classes']
    for i in range(len(local)):
        a, b = local.get_data_info(i), remote.get_data_info(i)
        assert b['img_path'] == a['img_path'].replace(root_local, root_remote)
        np.testing.assert_array_equal(a['gt_label'], b['gt_label'])
        if 'gt_bboxes' in a:
            np.testing.assert_array_equal(a['gt_bboxes'], b['gt_bboxes'])
    a, b = local[0], remote[0]
    np.testing.assert_array_equal(a['img'], b['img'])
    for key in ('gt_seg_map', 'gt_mask'):
        if key in a:
            np.testing.assert_array_equal(a[key], b[key])
    return b


def test_voc_from_memory_backend(toy):
    local_root = toy['voc']['root']
    _serve(local_root, 'memtest://toy/voc')
    kw = dict(
        type='VOCClsDataset',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'))
    local = DATASETS.build(
        dict(kw, data_root=local_root, pipeline=_pipeline(None)))
    before = MemoryBackend.reads
    # the URI prefix picks the backend
    remote = DATASETS.build(
        dict(kw, data_root='memtest://toy/voc', pipeline=_pipeline(None)))
    out = _same(local, remote, local_root, 'memtest://toy/voc')
    assert out['gt_seg_map'].shape == out['img'].shape[:2]
    # the list, one XML per image, then the image and its mask
    assert MemoryBackend.reads == before + 1 + len(remote) + 2


def test_cub_from_memory_backend_args(toy):
    # no prefix: backend_args=dict(backend='memtest') picks the backend;
    # /nonexistent-mem/... is not a local path, so nothing reads locally
    local_root = toy['cub']['root']
    root = '/nonexistent-mem/CUB_200_2011'
    assert not osp.exists(root)
    _serve(local_root, root)
    _serve(
        osp.join(osp.dirname(local_root), 'segmentations'),
        '/nonexistent-mem/segmentations')
    args = dict(backend='memtest')
    kw = dict(type='CUBDataset', split='test', mask_dir='../segmentations')
    local = DATASETS.build(
        dict(kw, data_root=local_root, pipeline=_pipeline(None)))
    remote = DATASETS.build(
        dict(kw, data_root=root, backend_args=args, pipeline=_pipeline(args)))
    out = _same(local, remote, local_root, root)
    assert out['gt_mask'].shape == out['img'].shape[:2]
    # without the backend the same (absent) local path is a layout error
    with pytest.raises(FileNotFoundError, match='CUB_200_2011 folder'):
        DATASETS.build(dict(kw, data_root=root))


def test_cub_metadata_and_errors_through_backend(toy, tmp_path):
    # wsolevaluation metadata read through the backend too; a missing file
    # there is named like a missing local one
    local_root = toy['cub']['root']
    root = '/nonexistent-mem2/CUB_200_2011'
    _serve(local_root, root)
    ds = DATASETS.build(
        dict(
            type='CUBDataset',
            data_root=root,
            split='test',
            backend_args=dict(backend='memtest')))
    ids = [
        osp.relpath(ds.get_data_info(i)['img_path'], osp.join(root, 'images'))
        for i in range(len(ds))
    ]
    boxes = [ds.get_data_info(i)['gt_bboxes'][0] for i in range(len(ds))]
    meta = '/nonexistent-mem2/metadata/CUB/test'
    _FILES[f'{meta}/image_ids.txt'] = '\n'.join(ids).encode()
    _FILES[f'{meta}/class_labels.txt'] = '\n'.join(
        f'{r},{int(ds.get_data_info(i)["gt_label"][0])}'
        for i, r in enumerate(ids)).encode()
    _FILES[f'{meta}/localization.txt'] = '\n'.join(
        f'{r},' + ','.join(f'{v:g}' for v in b)
        for r, b in zip(ids, boxes)).encode()
    meta_ds = DATASETS.build(
        dict(
            type='CUBDataset',
            data_root=root,
            split='test',
            metadata_root='../metadata/CUB',
            backend_args=dict(backend='memtest')))
    assert len(meta_ds) == len(ds)
    np.testing.assert_allclose(
        meta_ds.get_data_info(0)['gt_bboxes'][0], boxes[0])
    assert meta_ds.image_list_file() == f'{meta}/image_ids.txt'
    del _FILES[f'{meta}/class_labels.txt']
    with pytest.raises(
            FileNotFoundError,
            match=f'{meta}/class_labels.txt does not exist'):
        DATASETS.build(
            dict(
                type='CUBDataset',
                data_root=root,
                split='test',
                metadata_root='../metadata/CUB',
                backend_args=dict(backend='memtest')))
