# Copyright (c) mmbas contributors. All rights reserved.
"""Fusion of BAS seeds with the maps of a plain CAM network (spec section 4).

Both maps are max-normalised per class (``x / (max + eps)``), summed and
max-normalised again. The published BAS VOC seeds use this fusion.
"""
from typing import Optional

from torch import Tensor

from .multiscale import LabelsT, normalise_class_maps


def fuse_maps(bas_maps: Tensor,
              cam_maps: Tensor,
              labels: Optional[LabelsT] = None,
              eps: float = 1e-5) -> Tensor:
    """``norm(norm(bas_maps) + norm(cam_maps))`` per class.

    Args:
        bas_maps (Tensor): (N, C, H, W) or (C, H, W) maps (e.g. summed
            multi-scale BAS maps; already normalised maps are fine, the
            normalisation is idempotent up to eps).
        cam_maps (Tensor): Same shape, CAM maps (>= 0).
        labels: Classes to keep (see :func:`normalise_class_maps`); None
            keeps all.
        eps (float): Added to each max. Defaults to 1e-5.

    Returns:
        Tensor: Same shape, in [0, 1), zero for absent classes.
    """
    if bas_maps.shape != cam_maps.shape:
        raise ValueError(f'cannot fuse maps of shapes {tuple(bas_maps.shape)}'
                         f' and {tuple(cam_maps.shape)}')
    fused = normalise_class_maps(bas_maps, labels, eps) + \
        normalise_class_maps(cam_maps, labels, eps)
    return normalise_class_maps(fused, labels, eps)
