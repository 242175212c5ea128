# Copyright (c) mmbas contributors. All rights reserved.
"""PASCAL VOC 2012 with image-level labels (WSSS)."""
import io
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional

import numpy as np
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from .image_label_base import BaseImageLabelDataset


@DATASETS.register_module()
class VOCClsDataset(BaseImageLabelDataset):
    """VOC 2012 image-level multi-label dataset for WSSS (BAS stage 1/2).

    ``data_root`` is the ``VOCdevkit/VOC2012`` folder. Image ids come from an
    ``ImageSets`` list (``ann_file``: ``train.txt`` 1,464 / ``trainaug.txt``
    10,582 / ``val.txt`` 1,449). Labels are read from the VOC XML
    annotations, never from masks: every ``<object>`` of the XML counts,
    ``difficult`` and ``truncated`` ones included (the usual WSSS practice:
    IRN's ``cls_labels.npy``, reused by BAS-Extension, was built from all
    object names of the XML). Part names (``<part><name>``) are ignored.

    For ids without an XML (SBD-only ids in a custom list) a precomputed
    ``label_file`` may be given; it wins over the XML for the ids it holds:

    * ``.npy``: IRN / BAS-Extension ``cls_labels.npy``, a pickled dict
      ``{id: multi-hot (20,) array}``; ids as ``'2007_000032'`` or as IRN's
      int ``2007000032``.
    * ``.txt``: one image per line, ``<id> <c1> <c2> ...`` with 0-based
      foreground class indices (0 = aeroplane ... 19 = tvmonitor), spaces as
      separators, ``#`` comments allowed.

    ``metainfo['classes']`` lists ``background`` + the 20 classes (21, like
    mmseg's ``PascalVOCDataset``, so mmseg's ``IoUMetric`` and visualizer
    work on ``gt_sem_seg``/``pred_sem_seg``); ``gt_label`` index ``k``
    means ``classes[k + 1]``.

    Args:
        ann_file (str): ImageSets list, relative to ``data_root``.
            Defaults to ``'ImageSets/Segmentation/train.txt'``.
        data_prefix (dict): ``img_path`` (default ``'JPEGImages'``) and,
            optionally, ``seg_map_path`` (``'SegmentationClass'`` or
            ``'SegmentationClassAug'``): when given, each sample also has a
            ``seg_map_path`` for seed evaluation (load it with mmseg's
            ``LoadAnnotations`` or :class:`LoadWSOLAnnotations`).
        ann_dir (str): XML folder relative to ``data_root``. Defaults to
            ``'Annotations'``.
        label_file (str, optional): precomputed labels (see above).
        include_difficult (bool): count ``difficult`` objects. Default True.
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: other :class:`mmseg.datasets.BaseSegDataset` arguments
            (``metainfo``, ``pipeline``, ``test_mode``, ``lazy_init``,
            ``serialize_data``, ``indices``, ``backend_args``, ...).
    """
    METAINFO = dict(
        classes=PascalVOCDataset.METAINFO['classes'],
        palette=PascalVOCDataset.METAINFO['palette'])
    LAYOUT_HINT = ('set data_root to the VOCdevkit/VOC2012 folder '
                   '(see docs/datasets.md)')

    def __init__(self,
                 ann_file: str = 'ImageSets/Segmentation/train.txt',
                 data_prefix: dict = dict(img_path='JPEGImages'),
                 ann_dir: str = 'Annotations',
                 label_file: Optional[str] = None,
                 include_difficult: bool = True,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        self.ann_dir = ann_dir
        self.label_file = label_file
        self.include_difficult = include_difficult
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)

    # ------------------------------------------------------------------
    def _load_label_file(self, path: str) -> Dict[str, np.ndarray]:
        num_fg = len(self.fg_classes)
        out = {}
        if path.endswith('.npy'):
            table = np.load(
                io.BytesIO(self.read_bytes(path)), allow_pickle=True).item()
            for key, vec in table.items():
                key = str(key)
                if '_' not in key and len(key) == 10:  # IRN int ids
                    key = f'{key[:4]}_{key[4:]}'
                vec = np.asarray(vec).reshape(-1)
                if vec.size != num_fg:
                    raise ValueError(
                        f'{path}: labels of {key} have {vec.size} entries, '
                        f'expected a multi-hot vector of {num_fg}')
                out[key] = np.flatnonzero(vec > 0)
        else:
            lines = self.read_text(path).splitlines()
            for lineno, line in enumerate(lines, 1):
                line = line.split('#', 1)[0].strip()
                if not line:
                    continue
                parts = line.split()
                try:
                    labels = np.asarray([int(p) for p in parts[1:]], np.int64)
                except ValueError:
                    raise ValueError(
                        f'{path}:{lineno}: expected "<id> <c1> <c2> ..." with '
                        f'integer class indices, got {line!r}') from None
                if ((labels < 0) | (labels >= num_fg)).any():
                    raise ValueError(
                        f'{path}:{lineno}: class index outside [0, {num_fg})'
                        f' for image {parts[0]}')
                out[parts[0]] = labels
        return out

    def parse_xml(self, xml_path: str) -> List[int]:
        """0-based foreground class indices of the objects of one XML."""
        names = self.fg_classes
        labels = []
        root = ET.fromstring(self.read_bytes(xml_path))
        for obj in root.findall('object'):
            name = obj.findtext('name', '').strip()
            if name not in names:
                raise ValueError(
                    f'{self.__class__.__name__}: unknown class {name!r} in '
                    f'{xml_path}; expected one of {names}')
            if not self.include_difficult and \
                    obj.findtext('difficult', '0').strip() == '1':
                continue
            labels.append(names.index(name))
        return labels

    def load_data_list(self) -> List[dict]:
        """Read the id list and the labels of every id."""
        self.require_file(self.ann_file, 'image list (ann_file)')
        img_dir = self.require_dir(self.data_prefix['img_path'], 'image dir')
        seg_dir = self.seg_map_dir()
        table = {}
        if self.label_file:
            path = self.require_file(
                self.resolve(self.label_file), 'label file')
            table = self._load_label_file(path)
        xml_dir = self.resolve(self.ann_dir)
        if not table:
            self.require_dir(xml_dir, 'annotation dir')
        data_list = []
        for img_id in self.read_lines(self.ann_file):
            img_id = img_id.split()[0]
            if img_id in table:
                labels = table[img_id]
            else:
                xml_path = osp.join(xml_dir, img_id + '.xml')
                if not self.isfile(xml_path):
                    raise FileNotFoundError(
                        f'{self.__class__.__name__}: image id {img_id} of '
                        f'{self.ann_file} has no annotation {xml_path}' +
                        (f' and no entry in {self.label_file}' if self.
                         label_file else '') +
                        '; give label_file= with its labels')
                labels = self.parse_xml(xml_path)
            extra = {}
            if seg_dir:
                extra['seg_map_path'] = osp.join(seg_dir,
                                                 img_id + self.seg_map_suffix)
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, img_id + self.img_suffix), img_id,
                    labels, **extra))
        return data_list
