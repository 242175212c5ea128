# Copyright (c) mmbas contributors. All rights reserved.
"""Testing utilities of mmbas (deterministic toy datasets, helpers for runs on
them)."""
from .toy_data import (COCO_CATEGORY_IDS, COCO_CLASSES, JPEG_QUALITY,
                       MAX_TOY_CLASSES, PART_SHAPES, TOY_DATASETS, VOC_CLASSES,
                       make_all, make_coco, make_cub, make_ilsvrc,
                       make_openimages, make_voc, part_appearance,
                       render_scene, voc_palette)
from .toy_runs import (LOADERS, all_background_miou, data_root_options,
                       label_map_miou)

__all__ = [
    'VOC_CLASSES', 'COCO_CLASSES', 'COCO_CATEGORY_IDS', 'PART_SHAPES',
    'MAX_TOY_CLASSES', 'JPEG_QUALITY', 'TOY_DATASETS', 'voc_palette',
    'part_appearance', 'render_scene', 'make_voc', 'make_coco', 'make_cub',
    'make_ilsvrc', 'make_openimages', 'make_all', 'LOADERS',
    'data_root_options', 'label_map_miou', 'all_background_miou'
]
