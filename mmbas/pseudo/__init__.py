# Copyright (c) mmbas contributors. All rights reserved.
"""WSSS pseudo-mask stage: multi-scale seeds, CAM fusion, dense CRF."""
from .crf import SEED_REFINERS, crf_available, dense_crf, register_refiner
from .fusion import fuse_maps
from .multiscale import (DEFAULT_SCALES, multiscale_maps,
                         multiscale_seed_maps, normalise_class_maps,
                         scaled_size)
from .relation_labels import make_relation_labels

__all__ = [
    'DEFAULT_SCALES', 'multiscale_maps', 'multiscale_seed_maps',
    'normalise_class_maps', 'scaled_size', 'fuse_maps', 'dense_crf',
    'crf_available', 'register_refiner', 'SEED_REFINERS',
    'make_relation_labels'
]
