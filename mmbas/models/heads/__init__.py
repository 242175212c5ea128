# Copyright (c) mmbas contributors. All rights reserved.
from .bas_head import BASHead
from .base_head import BaseWSHead
from .cam_head import CAMHead
from .classifier_builder import build_bas_classifier
from .irn_boundary_head import IRNBoundaryHead
from .irn_branch import IRNBranch
from .irn_displacement_head import DisplacementMeanShift, IRNDisplacementHead

__all__ = [
    'BASHead', 'BaseWSHead', 'CAMHead', 'build_bas_classifier', 'IRNBranch',
    'IRNBoundaryHead', 'IRNDisplacementHead', 'DisplacementMeanShift'
]
