# Copyright (c) mmbas contributors. All rights reserved.
"""WSSS pseudo-mask stage: the seed recipe, dense CRF, IRN relation labels
and random walk, the export."""
from .crf import SEED_REFINERS, crf_available, dense_crf, register_refiner
from .relation_labels import make_relation_labels
from .seeds import (DEFAULT_BG_THRESHOLD, DEFAULT_SCALES, SeedRecipe,
                    crop_valid, fuse_maps, gt_classes, multiscale_maps,
                    normalise_class_maps, scaled_size, seed_labels,
                    seed_logits, select_classes, to_original, valid_region)

__all__ = [
    'DEFAULT_SCALES', 'DEFAULT_BG_THRESHOLD', 'SeedRecipe', 'valid_region',
    'crop_valid', 'multiscale_maps', 'scaled_size', 'to_original',
    'gt_classes', 'select_classes', 'normalise_class_maps', 'fuse_maps',
    'seed_logits', 'seed_labels', 'dense_crf', 'crf_available',
    'register_refiner', 'SEED_REFINERS', 'make_relation_labels'
]
