# Copyright (c) mmbas contributors. All rights reserved.
"""Decode heads of the WSSS final stage (registered in mmseg MODELS)."""
from .aspp_v2_head import ASPPV2Head

__all__ = ['ASPPV2Head']
