# Copyright (c) mmbas contributors. All rights reserved.
"""Common base of the mmbas image-label (WSSS) and WSOL datasets."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset

from mmbas.utils.errors import BadInputError, CorruptFileError, explain
from .wsol_metadata import read_wsol_metadata

TOY_HINT = ('or generate toy data with tools/misc/make_toy_data.py')


class BaseBASDataset(BaseSegDataset):
    """Base class of the mmbas datasets (not registered).

    It is a :class:`mmseg.datasets.BaseSegDataset`, so it keeps mmseg's
    ``metainfo`` handling (``classes``, ``palette``, ``label_map``,
    ``reduce_zero_label``), lazy init, ``serialize_data`` and works with mmseg
    pipelines (``LoadImageFromFile``, ``LoadAnnotations``, ``Resize``,
    ``RandomFlip``, ...). Subclasses implement :meth:`load_data_list` and
    build each ``data_info`` with :meth:`make_data_info`.

    Every ``data_info`` holds:

    * ``img_path`` (str), ``img_id`` (str or int),
    * ``gt_label`` (np.ndarray int64, shape (K,)): 0-based indices of the
      positive classes over the ``C`` foreground classes (K = 1 for
      single-label WSOL sets),
    * optionally ``gt_bboxes`` (np.ndarray float32, (N, 4), xyxy in original
      image pixels), ``seg_map_path``, ``mask_paths`` (list of str) and
      ``ignore_path`` (str),
    * mmseg bookkeeping: ``label_map``, ``reduce_zero_label``,
      ``seg_fields`` (an empty list the loading transforms append to).

    Class attribute ``LAYOUT_HINT`` is the fix printed in layout errors
    (where the dataset is expected). Constructor arguments are those of
    :class:`BaseSegDataset`.

    Bad data fails with the list the image came from
    (:meth:`image_list_file`): an empty list raises
    :class:`~mmbas.utils.errors.BadInputError` when the dataset is
    initialised, and a sample whose file is missing or corrupt re-raises
    the loading error with the image id and the list appended.
    """

    #: fix appended to every layout error; subclasses override.
    LAYOUT_HINT: str = 'check data_root (see docs/datasets.md)'

    # ------------------------------------------------------------------
    # paths and errors
    # ------------------------------------------------------------------
    def resolve(self, path: Optional[str]) -> Optional[str]:
        """Join ``path`` with ``data_root`` unless it is absolute/None."""
        if path is None or path == '':
            return path
        if osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def layout_error(self, what: str, path: str) -> FileNotFoundError:
        """One-line error naming the missing ``path`` and the fix."""
        return FileNotFoundError(
            f'{self.__class__.__name__}: {what} {path} does not exist; '
            f'{self.LAYOUT_HINT} {TOY_HINT}')

    def require_dir(self, path: str, what: str) -> str:
        """Raise :meth:`layout_error` unless ``path`` is a directory."""
        if not osp.isdir(path):
            raise self.layout_error(what, path)
        return path

    def require_file(self, path: str, what: str) -> str:
        """Raise :meth:`layout_error` unless ``path`` is a file."""
        if not osp.isfile(path):
            raise self.layout_error(what, path)
        return path

    def image_list_file(self) -> str:
        """The file that lists the images of this dataset (for messages):
        ``<metadata_root>/<split>/image_ids.txt`` with wsolevaluation
        metadata, else ``ann_file``."""
        metadata_root = getattr(self, 'metadata_root', None)
        if metadata_root:
            return osp.join(
                self.resolve(metadata_root), self.split, 'image_ids.txt')
        return self.ann_file

    @staticmethod
    def read_lines(path: str) -> List[str]:
        """Non-empty stripped lines of a text file."""
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]

    # ------------------------------------------------------------------
    # bad data
    # ------------------------------------------------------------------
    def filter_data(self) -> List[dict]:
        """mmengine's hook between :meth:`load_data_list` and serialisation:
        no filtering, but an empty list raises
        :class:`~mmbas.utils.errors.BadInputError` naming the list file
        (instead of numpy's ``need at least one array to concatenate``)."""
        data_list = super().filter_data()
        if not data_list:
            raise BadInputError(
                f'{self.__class__.__name__}: the image list '
                f'{self.image_list_file()} gives no image; put one image '
                'per line in it, or point the config at the right list')
        return data_list

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``; a missing
        (``FileNotFoundError``) or corrupt
        (:class:`~mmbas.utils.errors.CorruptFileError`) file is re-raised as
        the same type with the image id and the list file appended to its
        message."""
        try:
            return super().prepare_data(idx)
        except (FileNotFoundError, CorruptFileError) as err:
            info = self.get_data_info(idx)
            message = explain(err) or str(err)
            raise type(err)(
                f'{message} (image {info.get("img_id")} of the list '
                f'{self.image_list_file()})') from None

    # ------------------------------------------------------------------
    # data infos
    # ------------------------------------------------------------------
    def make_data_info(self,
                       img_path: str,
                       img_id,
                       labels: Sequence[int],
                       bboxes: Optional[np.ndarray] = None,
                       **extra) -> Dict:
        """Build one ``data_info`` dict (see the class docstring).

        Args:
            img_path (str): image file.
            img_id (str | int): identifier of the image in its dataset.
            labels (Sequence[int]): 0-based foreground class indices.
            bboxes (np.ndarray, optional): (N, 4) xyxy boxes.
            **extra: more keys (``seg_map_path``, ``mask_paths``, ...).
        """
        info = dict(
            img_path=img_path,
            img_id=img_id,
            gt_label=np.asarray(sorted(set(int(x) for x in labels)),
                                dtype=np.int64),
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        if bboxes is not None:
            info['gt_bboxes'] = np.asarray(
                bboxes, dtype=np.float32).reshape(-1, 4)
        info.update(extra)
        return info

    def extra_paths(self, rel: str) -> Dict:
        """More ``data_info`` keys of the image ``rel`` (e.g. mask paths);
        none by default."""
        return {}

    def load_box_metadata(self, img_dir: str) -> List[Dict]:
        """``data_info`` dicts from wsolevaluation-style metadata
        (``metadata_root/<split>/{image_ids,class_labels,image_sizes,
        localization}.txt``): one label per image, boxes when ``with_bbox``,
        plus :meth:`extra_paths`."""
        meta_dir = osp.join(self.resolve(self.metadata_root), self.split)
        meta = read_wsol_metadata(
            meta_dir, localization='box' if self.with_bbox else None)
        data_list = []
        for rel in meta['image_ids']:
            boxes = None
            if self.with_bbox:
                boxes = self.check_boxes(
                    np.array(meta['boxes'][rel]), rel,
                    osp.join(meta_dir, 'localization.txt'),
                    size=meta['sizes'].get(rel))
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, rel), rel, [meta['labels'][rel]],
                    boxes, **self.extra_paths(rel)))
        return data_list

    def check_boxes(self, boxes: np.ndarray, img_id, source: str,
                    size: Optional[Sequence[int]] = None,
                    tolerance: float = 1.0) -> np.ndarray:
        """Validate (N, 4) xyxy boxes of one image.

        Raises ``ValueError`` naming the image and the annotation file when a
        box has a negative width/height or (when ``size`` = (w, h) is known)
        lies outside the image by more than ``tolerance`` pixels.

        Returns:
            np.ndarray: the boxes clipped to ``[0, w] x [0, h]`` (float32).
        """
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        if bad.any():
            raise ValueError(
                f'{self.__class__.__name__}: image {img_id} in {source} has a '
                f'box with negative width or height: '
                f'{boxes[bad][0].tolist()} (expected x0<=x1, y0<=y1)')
        if size is not None:
            w, h = float(size[0]), float(size[1])
            out = ((boxes[:, 0] < -tolerance) | (boxes[:, 1] < -tolerance)
                   | (boxes[:, 2] > w + tolerance)
                   | (boxes[:, 3] > h + tolerance))
            if out.any():
                raise ValueError(
                    f'{self.__class__.__name__}: image {img_id} in {source} '
                    f'has a box {boxes[out][0].tolist()} outside the image '
                    f'(w={int(w)}, h={int(h)})')
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        return boxes


def classes_from_labelled_paths(labels: Dict[str, int],
                                component: int) -> tuple:
    """Class names from ``{relative image path: label}`` pairs.

    The name of label ``k`` is path component ``component`` (split on '/')
    of the images labelled ``k`` (e.g. the class folder ``train/<wnid>/``).
    Labels never seen get ``'class_<k>'``.
    """
    names: Dict[int, str] = {}
    for path, label in labels.items():
        parts = path.split('/')
        if len(parts) > component + 1:
            names.setdefault(label, parts[component])
    if not names:
        return tuple()
    return tuple(
        names.get(k, f'class_{k}') for k in range(max(names) + 1))
