# Copyright (c) mmbas contributors. All rights reserved.
"""f1/f2 split backbones for BAS (see :mod:`.split_backbone`) and the five-
stage ResNet of IRN."""
from .irn_resnet import IRNResNet
from .mobilenet_v1 import MobileNetV1
from .split_backbone import SplitBackboneMixin
from .wsol_inception_v3 import WSOLInceptionV3
from .wsol_resnet import WSOLResNet
from .wsol_vgg import WSOLVGG16
from .wsss_resnet import WSSSResNet

__all__ = [
    'SplitBackboneMixin', 'WSOLResNet', 'WSSSResNet', 'WSOLVGG16',
    'WSOLInceptionV3', 'MobileNetV1', 'IRNResNet'
]
