# Copyright (c) mmbas contributors. All rights reserved.
"""The building block of IRN's two heads."""
import math
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class IRNBranch(nn.Module):
    """1x1 conv (no bias) -> GroupNorm -> bilinear upsample -> ReLU.

    IRN reads every backbone stage through this block; deeper stages are
    upsampled (between the norm and the ReLU, as IRN does) to the grid of
    a shallower one and cropped to it, so maps whose sizes are not exact
    multiples line up top-left (e.g. a 500 px input: 125 at stride 4, 63 at
    stride 8 -> 126 -> 125).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_groups (int): GroupNorm groups (divides ``out_channels``).
    """

    def __init__(self, in_channels: int, out_channels: int, num_groups: int):
        super().__init__()
        if out_channels % num_groups:
            raise ValueError(f'GroupNorm needs num_groups ({num_groups}) to '
                             f'divide the channels ({out_channels})')
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.norm = nn.GroupNorm(num_groups, out_channels)

    def forward(self,
                x: Tensor,
                size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Apply the block.

        Args:
            x (Tensor): (N, in_channels, h, w).
            size (tuple[int, int], optional): Target grid (H, W) with
                H >= h. The map is upsampled by the power of 2 nearest to
                ``H / h`` (the stride ratio; bilinear, ``align_corners=
                False``) and cropped to (H, W). None keeps (h, w).

        Returns:
            Tensor: (N, out_channels, H, W).
        """
        x = self.norm(self.conv(x))
        if size is not None and tuple(x.shape[-2:]) != tuple(size):
            factor = 2**max(0, round(math.log2(size[0] / x.shape[-2])))
            if factor > 1:
                x = F.interpolate(
                    x,
                    scale_factor=factor,
                    mode='bilinear',
                    align_corners=False)
            if x.shape[-2] < size[0] or x.shape[-1] < size[1]:
                raise ValueError(
                    f'cannot bring a {tuple(x.shape[-2:])} map (x{factor}) '
                    f'to {tuple(size)}: the backbone stages must have '
                    'strides that are powers of 2 of each other')
            x = x[..., :size[0], :size[1]]
        return F.relu(x)
