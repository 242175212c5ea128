# Copyright (c) mmbas contributors. All rights reserved.
"""Common base of the mmbas image-label (WSSS) and WSOL datasets: paths, file
reads through mmengine ``fileio`` and bad-data errors."""
import os.path as osp
import posixpath
from typing import Dict, List, Optional, Sequence

import mmengine.fileio as fileio
import numpy as np
from mmseg.datasets import BaseSegDataset

from mmbas.utils.errors import BadInputError, CorruptFileError, explain

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

    Every file is read through mmengine's ``fileio`` with
    ``self.backend_args`` (:meth:`isfile`, :meth:`isdir`,
    :meth:`read_text`, :meth:`read_bytes`, :meth:`read_lines`), as mmseg's
    datasets do, so ``data_root`` may live on any registered storage
    backend (a URI prefix such as ``s3://`` or ``backend_args=dict(
    backend=...)``); the image and annotation loading transforms take the
    same ``backend_args``.

    Two bases build on it: :class:`~mmbas.datasets.BaseWSOLDataset`
    (split, wsolevaluation metadata, boxes) and
    :class:`~mmbas.datasets.BaseImageLabelDataset` (image-level labels over
    ``background`` + the foreground classes).

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
        """Join ``path`` with ``data_root`` unless it is absolute (a local
        absolute path or a URI such as ``s3://...``) or None.

        Off the local disk (a URI, or ``backend_args`` given) ``..``
        segments are collapsed (``root/a/../b`` -> ``root/b``): object
        stores have no parent folders. Local paths are returned as joined.
        """
        if path is None or path == '':
            return path
        if not (osp.isabs(path) or '://' in path or not self.data_root):
            path = osp.join(self.data_root, path)
        if ('://' in path or self.backend_args) and '..' in path:
            prefix, sep, key = path.rpartition('://')
            path = prefix + sep + posixpath.normpath(key)
        return path

    def layout_error(self, what: str, path: str) -> FileNotFoundError:
        """One-line error naming the missing ``path`` and the fix."""
        return FileNotFoundError(
            f'{self.__class__.__name__}: {what} {path} does not exist; '
            f'{self.LAYOUT_HINT} {TOY_HINT}')

    def isdir(self, path: str) -> bool:
        """Whether ``path`` is a directory (any file backend)."""
        return fileio.isdir(path, backend_args=self.backend_args)

    def isfile(self, path: str) -> bool:
        """Whether ``path`` is a file (any file backend)."""
        return fileio.isfile(path, backend_args=self.backend_args)

    def require_dir(self, path: str, what: str) -> str:
        """Raise :meth:`layout_error` unless ``path`` is a directory."""
        if not self.isdir(path):
            raise self.layout_error(what, path)
        return path

    def require_file(self, path: str, what: str) -> str:
        """Raise :meth:`layout_error` unless ``path`` is a file."""
        if not self.isfile(path):
            raise self.layout_error(what, path)
        return path

    def read_bytes(self, path: str) -> bytes:
        """The content of a file (any file backend)."""
        return fileio.get(path, backend_args=self.backend_args)

    def read_text(self, path: str) -> str:
        """The text of a file (any file backend)."""
        return fileio.get_text(path, backend_args=self.backend_args)

    def image_list_file(self) -> str:
        """The file that lists the images of this dataset (for messages);
        ``ann_file`` unless a subclass says otherwise."""
        return self.ann_file

    def read_lines(self, path: str) -> List[str]:
        """Non-empty stripped lines of a text file (any file backend)."""
        return [
            line.strip() for line in self.read_text(path).splitlines()
            if line.strip()
        ]

    # ------------------------------------------------------------------
    # bad data
    # ------------------------------------------------------------------
    def filter_data(self) -> List[dict]:
        """mmengine's hook between :meth:`load_data_list` and serialisation:

        no filtering, but an empty list raises
        :class:`~mmbas.utils.errors.BadInputError` naming the list file
        (instead of numpy's ``need at least one array to concatenate``).
        """
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
            gt_label=np.asarray(
                sorted(set(int(x) for x in labels)), dtype=np.int64),
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        if bboxes is not None:
            info['gt_bboxes'] = np.asarray(
                bboxes, dtype=np.float32).reshape(-1, 4)
        info.update(extra)
        return info


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
    return tuple(names.get(k, f'class_{k}') for k in range(max(names) + 1))
