# Copyright (c) mmbas contributors. All rights reserved.
"""OpenImages30k (wsolevaluation) for weakly supervised localization."""
import os.path as osp
from typing import List

from mmseg.registry import DATASETS

from .base import classes_from_labelled_paths
from .wsol_base import BaseWSOLDataset


@DATASETS.register_module()
class OpenImagesWSOLDataset(BaseWSOLDataset):
    """OpenImages30k of wsolevaluation: one label, instance masks.

    ``data_root`` is the ``OpenImages`` folder; the split is described by
    ``<metadata_root>/<split>/{image_ids,class_labels,localization}.txt``
    (image paths relative to ``data_root``). For ``val``/``test`` each
    sample has ``mask_paths`` (all instance masks of the image, merged into
    one foreground ``gt_mask`` by :class:`LoadWSOLAnnotations`) and
    ``ignore_path`` (the ignore region, ``ignore_mask``); mask paths of
    ``localization.txt`` are joined with ``<data_root>/<mask_prefix>``.

    Class names default to the class folder of the images of each label
    (``train/<class id>/...`` in the train metadata), e.g. ``'01yrx'``.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``. Default
            ``'train'``.
        metadata_root (str): wsolevaluation ``metadata/OpenImages`` folder,
            relative to ``data_root`` or absolute. Default
            ``'../metadata/OpenImages'``.
        data_prefix (dict): ``img_path``. Defaults to ``dict(img_path='')``.
        mask_prefix (str): folder the mask paths are relative to, under
            ``data_root``. Defaults to ``''`` (paths like
            ``mask/val/<cid>/<name>_0.png``); use ``'mask'`` when the
            metadata paths start at ``val/``.
        with_mask (bool): attach mask paths (not for ``train``, which has
            none). Defaults to True.
        **kwargs: other :class:`BaseWSOLDataset` arguments (``metainfo``,
            ``data_root``, ``backend_args``, ...).
    """
    LAYOUT_HINT = ('set data_root to the OpenImages folder and '
                   'metadata_root to metadata/OpenImages (see '
                   'docs/datasets.md)')

    SPLITS = ()
    METADATA_SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 split: str = 'train',
                 metadata_root: str = '../metadata/OpenImages',
                 data_prefix: dict = dict(img_path=''),
                 mask_prefix: str = '',
                 with_mask: bool = True,
                 **kwargs) -> None:
        self.mask_prefix = mask_prefix
        self.with_mask = with_mask and split != 'train'
        super().__init__(
            split=split,
            metadata_root=metadata_root,
            with_bbox=False,
            data_prefix=data_prefix,
            **kwargs)

    def find_classes(self) -> tuple:
        """Class folders of the train metadata (of the split's own metadata
        when there is no train folder)."""
        split = 'train' if self.isdir(self.metadata_dir('train')) \
            else self.split
        return classes_from_labelled_paths(
            self.read_metadata(split)['labels'], 1)

    def load_data_list(self) -> List[dict]:
        """Read the wsolevaluation metadata of the split."""
        img_dir = self.require_dir(self.data_prefix['img_path'], 'image dir')
        meta_dir = self.metadata_dir()
        meta = self.read_metadata(
            localization='mask' if self.with_mask else None)
        mask_root = self.resolve(self.mask_prefix) or self.data_root or ''
        data_list = []
        for rel in meta['image_ids']:
            extra = {}
            if self.with_mask:
                masks, ignore = meta['masks'][rel]
                extra['mask_paths'] = [osp.join(mask_root, m) for m in masks]
                extra['ignore_path'] = (
                    osp.join(mask_root, ignore) if ignore else None)
                if not data_list and not self.isfile(extra['mask_paths'][0]):
                    raise FileNotFoundError(
                        f'OpenImagesWSOLDataset: mask {extra["mask_paths"][0]}'
                        f' of image {rel} ({meta_dir}/localization.txt) does '
                        f'not exist; check mask_prefix (the folder the mask '
                        f'paths are relative to)')
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, rel), rel, [meta['labels'][rel]],
                    **extra))
        return data_list
