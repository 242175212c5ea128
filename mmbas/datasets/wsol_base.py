# Copyright (c) mmbas contributors. All rights reserved.
"""Common base of the WSOL datasets (CUB, ILSVRC, OpenImages): split,
wsolevaluation metadata, class names and boxes."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmbas.evaluation.functional.box_utils import validate_gt_boxes
from .base import BaseBASDataset
from .wsol_metadata import read_wsol_metadata


class BaseWSOLDataset(BaseBASDataset):
    """Base class of the WSOL datasets (not registered).

    A WSOL set has one class label per image and boxes or masks for
    localization. Its images come from one ``split``, listed either by the
    dataset's own files (subclasses read them in :meth:`load_data_list`) or
    by ``clovaai/wsolevaluation`` metadata
    (``<metadata_root>/<split>/{image_ids,class_labels,image_sizes,
    localization}.txt``, read by :meth:`read_metadata` and turned into data
    infos by :meth:`load_box_metadata`). Boxes of either source go through
    :meth:`check_boxes`, i.e. the one mmbas box validator
    :func:`mmbas.evaluation.functional.validate_gt_boxes`.

    Class names: ``metainfo['classes']`` when given, else
    :meth:`find_classes` (each subclass knows where its names are), which
    runs before mmseg's init, so it may read files.

    Subclasses set ``SPLITS`` (the splits of their own files) and
    ``METADATA_SPLITS`` (the splits with wsolevaluation metadata).

    Args:
        split (str): Split to load; one of ``SPLITS`` or, with
            ``metadata_root``, of ``METADATA_SPLITS``. Defaults to
            ``'train'``.
        metadata_root (str, optional): wsolevaluation metadata folder of
            the dataset (``metadata/<DATASET>``), relative to ``data_root``
            or absolute; None reads the dataset's own files.
        with_bbox (bool): Attach ``gt_bboxes``. Defaults to True.
        metainfo (dict, optional): mmseg meta information.
        data_root (str, optional): Dataset folder.
        backend_args (dict, optional): mmengine file backend arguments,
            used for every file read. Defaults to None (local files or the
            backend of a URI prefix).
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments.
    """
    #: splits of the dataset's own files
    SPLITS: Sequence[str] = ('train', 'test')
    #: splits of the wsolevaluation metadata
    METADATA_SPLITS: Sequence[str] = ('train', 'val', 'test')

    def __init__(self,
                 split: str = 'train',
                 metadata_root: Optional[str] = None,
                 with_bbox: bool = True,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        valid = tuple(self.METADATA_SPLITS if metadata_root else self.SPLITS)
        if split not in valid:
            raise ValueError(f'{self.__class__.__name__} split must be one '
                             f'of {valid}, got {split!r}')
        self.split = split
        self.metadata_root = metadata_root
        self.with_bbox = with_bbox
        # mmseg sets these in its init too; find_classes needs them first
        self.data_root = data_root
        self.backend_args = backend_args.copy() if backend_args else None
        metainfo = dict(metainfo or {})
        if 'classes' not in metainfo:
            metainfo['classes'] = self.find_classes()
        super().__init__(
            metainfo=metainfo,
            data_root=data_root,
            backend_args=backend_args,
            **kwargs)

    def find_classes(self) -> tuple:
        """Class names when ``metainfo`` gives none; subclasses implement
        it."""
        raise NotImplementedError(
            f'{self.__class__.__name__} needs metainfo=dict(classes=...)')

    # ------------------------------------------------------------------
    # wsolevaluation metadata
    # ------------------------------------------------------------------
    def metadata_dir(self, split: Optional[str] = None) -> str:
        """``<metadata_root>/<split>`` (default: this dataset's split)."""
        return osp.join(self.resolve(self.metadata_root), split or self.split)

    def read_metadata(self,
                      split: Optional[str] = None,
                      localization: Optional[str] = None) -> Dict:
        """:func:`~mmbas.datasets.read_wsol_metadata` of a split folder (see
        there for ``localization`` and the returned dict)."""
        return read_wsol_metadata(
            self.metadata_dir(split),
            localization=localization,
            backend_args=self.backend_args)

    def image_list_file(self) -> str:
        """``<metadata_root>/<split>/image_ids.txt`` with wsolevaluation
        metadata, else ``ann_file``."""
        if self.metadata_root:
            return osp.join(self.metadata_dir(), 'image_ids.txt')
        return self.ann_file

    def extra_paths(self, rel: str) -> Dict:
        """More ``data_info`` keys of the image ``rel`` (e.g. mask paths); none
        by default."""
        return {}

    def load_box_metadata(self, img_dir: str) -> List[Dict]:
        """``data_info`` dicts from the wsolevaluation metadata of the
        split: one label per image, boxes (checked against
        ``image_sizes.txt``) when ``with_bbox``, plus :meth:`extra_paths`."""
        meta = self.read_metadata(
            localization='box' if self.with_bbox else None)
        loc_file = osp.join(self.metadata_dir(), 'localization.txt')
        data_list = []
        for rel in meta['image_ids']:
            boxes = None
            if self.with_bbox:
                boxes = self.check_boxes(
                    meta['boxes'][rel],
                    rel,
                    loc_file,
                    size=meta['sizes'].get(rel))
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, rel), rel, [meta['labels'][rel]], boxes,
                    **self.extra_paths(rel)))
        return data_list

    # ------------------------------------------------------------------
    # boxes
    # ------------------------------------------------------------------
    def check_boxes(self,
                    boxes,
                    img_id,
                    source: str,
                    size: Optional[Sequence[float]] = None,
                    tolerance: float = 1.0) -> np.ndarray:
        """Validate the (N, 4) xyxy boxes of one image with
        :func:`~mmbas.evaluation.functional.validate_gt_boxes`.

        Args:
            boxes (array-like): (N, 4) boxes.
            img_id (str | int): The image, for the message.
            source (str): The annotation file the boxes come from.
            size (Sequence[float], optional): Image ``(w, h)``; when known
                a box beyond the image by more than ``tolerance`` pixels is
                an error and the boxes are clipped to it.
            tolerance (float): Pixels a box may overshoot. Defaults to 1.

        Returns:
            np.ndarray: (N, 4) float32 boxes.

        Raises:
            ValueError: naming the dataset, the image and ``source``.
        """
        w, h = (None, None) if size is None else size
        return validate_gt_boxes(
            boxes,
            h,
            w,
            where=f'{self.__class__.__name__}: image {img_id} in {source}',
            frame='image',
            tolerance=tolerance,
            clip=True,
            allow_empty=True,
            hint=f'Fix the box in {source}.',
            dtype=np.float32)
