# Copyright (c) mmbas contributors. All rights reserved.
"""MS-COCO 2014 with image-level labels (WSSS)."""
import contextlib
import io
import json
import os.path as osp
from typing import List

from mmseg.registry import DATASETS

from .image_label_base import BaseImageLabelDataset
from .palettes import coco_palette

#: the 80 COCO thing classes in COCO category-id order (ids 1..90 with
#: gaps), named as in mmdet.
COCO_CLASSES = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus',
                'train', 'truck', 'boat', 'traffic light', 'fire hydrant',
                'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
                'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
                'giraffe', 'backpack', 'umbrella', 'handbag', 'tie',
                'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
                'kite', 'baseball bat', 'baseball glove', 'skateboard',
                'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup',
                'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
                'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
                'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
                'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
                'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
                'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
                'teddy bear', 'hair drier', 'toothbrush')


@DATASETS.register_module()
class COCOClsDataset(BaseImageLabelDataset):
    """COCO 2014 image-level multi-label dataset for WSSS.

    ``data_root`` is the ``coco`` folder (``train2014/``, ``val2014/``,
    ``annotations/instances_{train,val}2014.json``). The labels of an image
    are the categories of all its instance annotations (``iscrowd`` ones
    included unless ``include_crowd=False``), read with ``pycocotools`` and
    mapped to 0-based indices in COCO category-id order (sorted ids of the
    json, which must hold the 80 standard categories).

    ``metainfo['classes']`` = ``background`` + the 80 class names (81, the
    label space of the 81-class semantic PNGs used for seed/mask mIoU);
    ``gt_label`` index ``k`` means ``classes[k + 1]``.

    Args:
        ann_file (str): instances json relative to ``data_root``. Defaults
            to ``'annotations/instances_train2014.json'``.
        data_prefix (dict): ``img_path`` (default ``'train2014'``) and
            optionally ``seg_map_path``: folder of 81-class PNGs named
            ``<image file stem><seg_map_suffix>`` (0 background, k+1 class k,
            255 ignore) for seed evaluation.
        include_crowd (bool): count ``iscrowd=1`` annotations. Default True.
        skip_empty (bool): drop images without any annotation (they carry
            no class to train or evaluate seeds on). Default True.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: other :class:`mmseg.datasets.BaseSegDataset` arguments
            (``backend_args`` included: the json is read through mmengine
            ``fileio``).
    """
    METAINFO = dict(
        classes=('background', ) + COCO_CLASSES, palette=coco_palette(81))
    LAYOUT_HINT = ('set data_root to the coco folder holding train2014/, '
                   'val2014/ and annotations/ (see docs/datasets.md)')

    def __init__(self,
                 ann_file: str = 'annotations/instances_train2014.json',
                 data_prefix: dict = dict(img_path='train2014'),
                 include_crowd: bool = True,
                 skip_empty: bool = True,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        self.include_crowd = include_crowd
        self.skip_empty = skip_empty
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the instances json with pycocotools."""
        try:
            from pycocotools.coco import COCO
        except ImportError as e:  # pragma: no cover
            raise ImportError('COCOClsDataset needs pycocotools: '
                              'pip install pycocotools') from e
        self.require_file(self.ann_file, 'annotation json (ann_file)')
        img_dir = self.require_dir(self.data_prefix['img_path'], 'image dir')
        seg_dir = self.seg_map_dir()
        with contextlib.redirect_stdout(io.StringIO()):
            # COCO() opens local files only: read the json through fileio
            coco = COCO()
            coco.dataset = json.loads(self.read_text(self.ann_file))
            coco.createIndex()
        cat_ids = sorted(coco.getCatIds())
        if len(cat_ids) != len(COCO_CLASSES):
            raise ValueError(
                f'{self.ann_file} has {len(cat_ids)} categories, expected the '
                f'{len(COCO_CLASSES)} COCO thing categories')
        cat_to_label = {cid: i for i, cid in enumerate(cat_ids)}
        data_list = []
        for img_id in sorted(coco.getImgIds()):
            info = coco.loadImgs([img_id])[0]
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            labels = [
                cat_to_label[a['category_id']] for a in anns
                if self.include_crowd or not a.get('iscrowd', 0)
            ]
            if not labels and self.skip_empty:
                continue
            file_name = info['file_name']
            extra = {}
            if seg_dir:
                extra['seg_map_path'] = osp.join(
                    seg_dir,
                    osp.splitext(file_name)[0] + self.seg_map_suffix)
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, file_name), img_id, labels, **extra))
        return data_list
