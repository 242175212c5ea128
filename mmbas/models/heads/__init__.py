# Copyright (c) mmbas contributors. All rights reserved.
from .bas_head import BASHead
from .cam_head import CAMHead
from .classifier_builder import build_bas_classifier

__all__ = ['BASHead', 'CAMHead', 'build_bas_classifier']
