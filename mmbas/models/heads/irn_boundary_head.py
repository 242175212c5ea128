# Copyright (c) mmbas contributors. All rights reserved.
"""The class-boundary branch of IRN."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from .irn_branch import IRNBranch


@MODELS.register_module()
class IRNBoundaryHead(BaseModule):
    """Boundary (edge) branch of IRN (Ahn et al., CVPR 2019).

    Every backbone stage goes through an :class:`IRNBranch` (1x1 conv to
    ``channels``, GroupNorm, upsampled to the grid of the first stage,
    ReLU); the maps are concatenated and a 1x1 conv (with bias) gives one
    boundary logit per pixel. ``sigmoid`` of it is the class-boundary map B
    from which the pair affinities are derived
    (:func:`mmbas.models.utils.boundary_to_affinity`).

    Args:
        in_channels (Sequence[int]): Channels of the backbone stages
            (IRN: the five ResNet-50 stages, (64, 256, 512, 1024, 2048)).
        channels (int): Channels of each stage branch. Defaults to 32.
        num_groups (int): GroupNorm groups of the branches. Defaults to 4.
        init_cfg (dict, optional): Init config. Defaults to None (PyTorch
            default init, as IRN).

    Shapes:
        feats: tuple of (N, in_channels[i], h_i, w_i), the first one on the
        output grid (h, w) (stride 4 for IRN); output: (N, 1, h, w) logits.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 32,
                 num_groups: int = 4,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        self.branches = nn.ModuleList(
            IRNBranch(c, channels, num_groups) for c in self.in_channels)
        self.fuse = nn.Conv2d(channels * len(self.in_channels), 1, 1)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Backbone stages -> boundary logits (N, 1, h, w)."""
        if len(feats) != len(self.branches):
            raise ValueError(f'IRNBoundaryHead expects {len(self.branches)} '
                             f'backbone stages, got {len(feats)}')
        size = tuple(feats[0].shape[-2:])
        maps = [b(f, size) for b, f in zip(self.branches, feats)]
        return self.fuse(torch.cat(maps, dim=1))
