# Copyright (c) mmbas contributors. All rights reserved.
"""Dense-prediction models trained on label maps (``gt_sem_seg``)."""
from .irn import IRN

__all__ = ['IRN']
