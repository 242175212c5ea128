# Copyright (c) mmbas contributors. All rights reserved.
"""MS-COCO 2014 as an 81-class semantic segmentation dataset (WSSS stage 3)."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .coco_cls import COCO_CLASSES
from .palettes import coco_palette


@DATASETS.register_module()
class COCO2014SegDataset(BaseSegDataset):
    """COCO 2014 semantic segmentation, 81 classes (WSSS protocol).

    Reads the layout written by ``tools/dataset_converters/coco2014.py``
    under ``data_root`` (the ``coco`` folder)::

        train2014/COCO_train2014_<id>.jpg       images
        val2014/COCO_val2014_<id>.jpg
        SegmentationClass/val2014/<stem>.png    uint8 label maps: 0 background,
                                                k + 1 = k-th category in COCO
                                                category-id order, 255 ignore
        ImageSets/{train2014,val2014}.txt       file stems of the images with
                                                at least one annotation

    Train on pseudo masks by pointing ``seg_map_path`` at the export folder
    (``tools/export_pseudo_labels.py`` names masks by image file stem too),
    e.g. ``data_prefix=dict(img_path='train2014',
    seg_map_path='SegmentationClassPseudo/train2014')``; validate on
    ``img_path='val2014', seg_map_path='SegmentationClass/val2014'`` with
    ``ann_file='ImageSets/val2014.txt'``.

    ``metainfo['classes']`` = ``background`` + the 80 COCO names (the label
    space of :class:`COCOClsDataset`, whose ``gt_label`` k is class k + 1
    here). ``reduce_zero_label`` is False (0 is a real class).

    Args:
        ann_file (str): Stem list relative to ``data_root``. Defaults to
            ``'ImageSets/train2014.txt'``; ``''`` lists the image folder.
        data_prefix (dict): ``img_path`` and ``seg_map_path`` folders.
            Defaults to ``dict(img_path='train2014',
            seg_map_path='SegmentationClass/train2014')``.
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments
            (``data_root``, ``pipeline``, ``test_mode``, ``ignore_index``,
            ``lazy_init``, ...).
    """
    METAINFO = dict(
        classes=('background', ) + COCO_CLASSES, palette=coco_palette(81))

    def __init__(self,
                 ann_file: str = 'ImageSets/train2014.txt',
                 data_prefix: dict = dict(
                     img_path='train2014',
                     seg_map_path='SegmentationClass/train2014'),
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
