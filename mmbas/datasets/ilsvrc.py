# Copyright (c) mmbas contributors. All rights reserved.
"""ImageNet-1k (ILSVRC 2012) for weakly supervised object localization."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional

import mmengine.fileio as fileio
import numpy as np
from mmseg.registry import DATASETS

from .base import classes_from_labelled_paths
from .wsol_base import BaseWSOLDataset


@DATASETS.register_module()
class ILSVRCDataset(BaseWSOLDataset):
    """ILSVRC 2012 (WSOL): training labels and validation boxes.

    ``data_root`` is the ``ILSVRC`` folder. Two modes:

    * official files (``metadata_root=None``):

      - ``split='train'``: ``ann_file`` (default ``'train.txt'``, lines
        ``<wnid>/<file>.JPEG <label>``, mmpretrain style) under
        ``data_prefix['img_path']`` (default ``'train'``); no boxes.
      - ``split='val'``: ``ann_file`` (default ``'val.txt'``, lines
        ``<file>.JPEG <label>``), images under ``'val'`` and boxes from the
        official XML folder ``box_dir`` (default ``'val_boxes'``,
        ``<stem>.xml``, every ``<object><bndbox>``).
    * wsolevaluation metadata (``metadata_root='../metadata/ILSVRC'``):
      ``<metadata_root>/<split>/{image_ids,class_labels,image_sizes,
      localization}.txt`` with image paths relative to ``data_root``
      (``train/<wnid>/...``, ``val/...``); boxes as written.

    Box convention (``gt_bboxes``, float32 xyxy, original pixels): 0-based
    corner pixels as wsolevaluation's metadata stores them; the official
    XML holds 1-based inclusive corners, so ``xml_offset`` (default 1) is
    subtracted from all four XML numbers, making both sources give the
    same boxes. Boxes are checked against the image size (XML ``<size>``
    or ``image_sizes.txt``) and clipped to ``[0, w] x [0, h]``.

    Class names: ``metainfo['classes']`` if given, else the first token of
    each line of ``class_file`` (default ``'classes.txt'``) if it exists,
    else the sorted sub-folders of ``<data_root>/train`` (the standard
    label order), else the class folders found in the wsolevaluation train
    metadata.

    Args:
        split (str): ``'train'`` or ``'val'`` (``'test'`` too in metadata
            mode). Defaults to ``'train'``.
        ann_file (str, optional): label list for the official mode; default
            ``'<split>.txt'``.
        data_prefix (dict, optional): ``img_path``; defaults to ``'train'``/
            ``'val'`` (official mode) or ``''`` (metadata mode).
        box_dir (str): XML folder for the official val boxes.
        metadata_root (str, optional): wsolevaluation ``metadata/ILSVRC``.
        with_bbox (bool): attach ``gt_bboxes`` (val/test). Default True.
        xml_offset (float): subtracted from XML box numbers. Default 1.
        class_file (str): optional class list. Default ``'classes.txt'``.
        **kwargs: other :class:`BaseWSOLDataset` arguments (``metainfo``,
            ``data_root``, ``backend_args``, ...).
    """
    LAYOUT_HINT = ('set data_root to the ILSVRC folder holding train/ and '
                   'val/ (see docs/datasets.md)')

    SPLITS = ('train', 'val')
    METADATA_SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 box_dir: str = 'val_boxes',
                 metadata_root: Optional[str] = None,
                 with_bbox: bool = True,
                 xml_offset: float = 1.0,
                 class_file: str = 'classes.txt',
                 **kwargs) -> None:
        self.box_dir = box_dir
        self.xml_offset = xml_offset
        self.class_file = class_file
        if data_prefix is None:
            data_prefix = dict(img_path='' if metadata_root else split)
        if ann_file is None:
            ann_file = '' if metadata_root else f'{split}.txt'
        super().__init__(
            split=split,
            metadata_root=metadata_root,
            with_bbox=with_bbox and split != 'train',
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)

    def find_classes(self) -> tuple:
        """``class_file``, else the sorted folders of ``train/``, else the
        class folders of the wsolevaluation train metadata."""
        path = self.resolve(self.class_file)
        if path and self.isfile(path):
            return tuple(line.split()[0] for line in self.read_lines(path))
        train_dir = self.resolve('train')
        if train_dir and self.isdir(train_dir):
            names = sorted(
                fileio.list_dir_or_file(
                    train_dir, list_file=False,
                    backend_args=self.backend_args))
            if names:
                return tuple(names)
        if self.metadata_root:
            meta = self.read_metadata('train')
            names = classes_from_labelled_paths(meta['labels'], 1)
            if names:
                return names
        raise self.layout_error('class list', path)

    def load_data_list(self) -> List[dict]:
        """Read the label list (+ XML boxes) or the wsolevaluation files."""
        img_dir = self.require_dir(self.data_prefix['img_path'], 'image dir')
        if self.metadata_root:
            return self.load_box_metadata(img_dir)
        self.require_file(self.ann_file, 'label list (ann_file)')
        box_dir = None
        if self.with_bbox:
            box_dir = self.require_dir(
                self.resolve(self.box_dir), 'box XML dir (box_dir)')
        data_list = []
        for line in self.read_lines(self.ann_file):
            rel, label = line.rsplit(maxsplit=1)
            boxes = None
            if box_dir is not None:
                stem = osp.splitext(osp.basename(rel))[0]
                xml_path = osp.join(box_dir, stem + '.xml')
                if not self.isfile(xml_path):
                    raise FileNotFoundError(
                        f'ILSVRCDataset: image {rel} of {self.ann_file} has '
                        f'no box file {xml_path}')
                boxes = self._parse_xml(xml_path, rel)
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, rel),
                    osp.splitext(rel)[0], [int(label)], boxes))
        return data_list

    def _parse_xml(self, xml_path: str, rel: str) -> np.ndarray:
        root = ET.fromstring(self.read_bytes(xml_path))
        size = root.find('size')
        wh = None
        if size is not None:
            wh = (float(size.findtext('width')),
                  float(size.findtext('height')))
        boxes = []
        for obj in root.findall('object'):
            bb = obj.find('bndbox')
            boxes.append([
                float(bb.findtext(k)) - self.xml_offset
                for k in ('xmin', 'ymin', 'xmax', 'ymax')
            ])
        if not boxes:
            raise ValueError(f'ILSVRCDataset: image {rel} has no box in '
                             f'{xml_path}')
        return self.check_boxes(np.array(boxes), rel, xml_path, size=wh)
