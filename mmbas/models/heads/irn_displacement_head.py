# Copyright (c) mmbas contributors. All rights reserved.
"""The displacement-field branch of IRN."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from .irn_branch import IRNBranch


class DisplacementMeanShift(nn.Module):
    """Tracks the mean displacement in training, removes it at inference.

    In train mode the input passes unchanged and ``running_mean`` moves
    towards the batch mean, ``(1 - momentum) * running + momentum *
    mean``; in eval mode ``running_mean`` is subtracted. (IRN's
    ``MeanShift``: the loss only sees displacement *differences*, so the
    field is defined up to a constant, fixed here to zero mean.)

    Args:
        num_channels (int): Channels of the field (2: dy, dx).
        momentum (float): Update rate. Defaults to 0.1.
    """

    def __init__(self, num_channels: int = 2, momentum: float = 0.1):
        super().__init__()
        self.momentum = momentum
        self.register_buffer('running_mean', torch.zeros(num_channels))

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, h, w) -> (N, C, h, w)."""
        if self.training:
            with torch.no_grad():
                mean = x.detach().float().mean(dim=(0, 2, 3))
                self.running_mean.mul_(1 - self.momentum).add_(
                    mean.to(self.running_mean.dtype), alpha=self.momentum)
            return x
        return x - self.running_mean.to(x.dtype).view(1, -1, 1, 1)


@MODELS.register_module()
class IRNDisplacementHead(BaseModule):
    """Displacement-field branch of IRN (Ahn et al., CVPR 2019).

    Predicts, per pixel of the stride-4 grid, the 2-D displacement
    ``(dy, dx)`` (in grid pixels) to the centroid of its instance; the
    loss trains the differences ``D(p) - D(q) = q - p`` of same-object
    pairs (see :class:`mmbas.models.losses.AffinityLoss`).

    IRN's layout, for five backbone stages (0-based, strides 4, 4, 8, 16,
    16): every stage gets an :class:`IRNBranch` (``channels[i]``,
    ``num_groups[i]``). The coarse stages 2, 3, 4 are brought to stage 2's
    grid (stride 8), concatenated and fused by a branch to
    ``mid_channels`` that is upsampled to the fine grid (stride 4); that
    map is concatenated with the fine stages 0 and 1 and fused by a last
    branch to ``mid_channels``; a 1x1 conv (no bias) gives the 2 channels,
    followed by :class:`DisplacementMeanShift`.

    Args:
        in_channels (Sequence[int]): Channels of the five backbone stages
            (ResNet-50: (64, 256, 512, 1024, 2048)).
        channels (Sequence[int]): Output channels of the five stage
            branches. Defaults to (64, 128, 256, 256, 256) (IRN).
        num_groups (Sequence[int]): Their GroupNorm groups. Defaults to
            (8, 16, 16, 16, 16).
        mid_channels (int): Channels of the two fusion branches.
            Defaults to 256.
        mid_groups (int): Their GroupNorm groups. Defaults to 16.
        momentum (float): :class:`DisplacementMeanShift` momentum.
            Defaults to 0.1.
        init_cfg (dict, optional): Init config. Defaults to None (PyTorch
            default init, as IRN).

    Shapes:
        feats: five (N, in_channels[i], h_i, w_i), the first two on the
        output grid (h, w); output: (N, 2, h, w), channel 0 = dy, 1 = dx.
    """

    num_stages = 5

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: Sequence[int] = (64, 128, 256, 256, 256),
                 num_groups: Sequence[int] = (8, 16, 16, 16, 16),
                 mid_channels: int = 256,
                 mid_groups: int = 16,
                 momentum: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels),
                            ('channels', channels), ('num_groups',
                                                     num_groups)):
            if len(value) != self.num_stages:
                raise ValueError(f'IRNDisplacementHead.{name} needs '
                                 f'{self.num_stages} entries, got {value}')
        self.in_channels = tuple(in_channels)
        self.branches = nn.ModuleList(
            IRNBranch(i, c, g)
            for i, c, g in zip(in_channels, channels, num_groups))
        self.fuse_coarse = IRNBranch(
            sum(channels[2:]), mid_channels, mid_groups)
        self.fuse_fine = IRNBranch(channels[0] + channels[1] + mid_channels,
                                   mid_channels, mid_groups)
        self.out_conv = nn.Conv2d(mid_channels, 2, 1, bias=False)
        self.mean_shift = DisplacementMeanShift(2, momentum)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Backbone stages -> displacement field (N, 2, h, w)."""
        if len(feats) != self.num_stages:
            raise ValueError(f'IRNDisplacementHead expects {self.num_stages}'
                             f' backbone stages, got {len(feats)}')
        fine = tuple(feats[0].shape[-2:])
        coarse = tuple(feats[2].shape[-2:])
        b = self.branches
        fine_maps = [b[0](feats[0], fine), b[1](feats[1], fine)]
        coarse_maps = [b[i](feats[i], coarse) for i in (2, 3, 4)]
        up = self.fuse_coarse(torch.cat(coarse_maps, dim=1), fine)
        x = self.fuse_fine(torch.cat(fine_maps + [up], dim=1))
        return self.mean_shift(self.out_conv(x))
