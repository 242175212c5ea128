# Copyright (c) mmbas contributors. All rights reserved.
from .bas import BAS
from .base_weakly_supervised import BaseWeaklySupervisedModel
from .cam import CAM
from .seed_inferencer import SeedInferencer
from .stored_maps_inferencer import StoredMapsInferencer
from .ten_crop import TenCropWSOLModel

__all__ = [
    'BAS', 'CAM', 'BaseWeaklySupervisedModel', 'SeedInferencer',
    'StoredMapsInferencer', 'TenCropWSOLModel'
]
