# Copyright (c) mmbas contributors. All rights reserved.
from .bas import BAS
from .base_weakly_supervised import BaseWeaklySupervisedModel
from .cam import CAM

__all__ = ['BAS', 'CAM', 'BaseWeaklySupervisedModel']
from .seed_inferencer import SeedInferencer  # noqa: E402,F401
from .ten_crop import TenCropWSOLModel  # noqa: F401
