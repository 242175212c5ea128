# Copyright (c) mmbas contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from .split_backbone import SplitBackboneMixin, freeze_modules, set_norm_eval

# output channels of the stem and of the 13 depthwise-separable blocks
_CHANNELS = (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024,
             1024)
# ImageNet MobileNetV1 strides: 2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1.
# The BAS reference sets block 6 (256 -> 512) to stride 1, so F1 is at 1/8.
_BAS_STRIDES = (2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1)


def _conv_bn_relu(in_channels: int, out_channels: int,
                  stride: int) -> nn.Sequential:
    """Stem: 3x3 conv (no bias) -> BN -> ReLU; indices 0, 1, 2."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def _depthwise_separable(in_channels: int, out_channels: int,
                         stride: int) -> nn.Sequential:
    """3x3 depthwise conv -> BN -> ReLU -> 1x1 conv -> BN -> ReLU.

    Parameter indices 0 (dw conv), 1 (BN), 3 (pw conv), 4 (BN).
    """
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            in_channels,
            3,
            stride,
            1,
            groups=in_channels,
            bias=False), nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class MobileNetV1(SplitBackboneMixin, BaseModule):
    """MobileNetV1 (width 1.0) split for BAS weakly supervised localisation.

    A conv-BN-ReLU stem followed by 13 depthwise-separable blocks, all kept
    in one ``nn.Sequential`` named ``model`` (``model.0`` = stem,
    ``model.1``..``model.13`` = blocks). This is the layout of the widely
    used PyTorch MobileNetV1 ImageNet checkpoints and of the BAS reference
    (``model.{i}.0/1`` stem conv/BN, ``model.{i}.0/1/3/4`` block dw conv,
    BN, pw conv, BN; the checkpoint's ``fc.*`` is ignored).

    * f1 = ``model[:-num_f2_blocks]``; with the BAS strides F1 is
      512 x H/8 x W/8 (28 x 28 at 224, 56 x 56 at 448);
    * f2 = ``model[-num_f2_blocks:]`` (the last two blocks, 512 -> 1024 with
      stride 2, 1024 -> 1024); F2 is 1024 x H/16 x W/16 (14 x 14 at 224,
      28 x 28 at 448).

    Args:
        strides (Sequence[int]): Stride of the stem and of each of the 13
            blocks (14 values). Defaults to the BAS layout
            (2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 2, 1); the ImageNet layout
            has 2 at index 6.
        num_f2_blocks (int): Number of trailing blocks forming f2.
            Defaults to 2.
        frozen_stages (int): -1: nothing frozen; k >= 0: ``model[0]`` (the
            stem) .. ``model[k]`` frozen. Defaults to -1.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None (PyTorch default init).

    Attributes:
        f1_channels (int): 512 (channels after ``model[-num_f2_blocks-1]``).
        f2_channels (int): 1024.
        f2_module_names (tuple[str]): ``('model',)``; ``forward_f2`` only
            uses ``model[-num_f2_blocks:]``.
    """

    f2_module_names = ('model', )

    def __init__(self,
                 strides: Sequence[int] = _BAS_STRIDES,
                 num_f2_blocks: int = 2,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(strides) != len(_CHANNELS):
            raise ValueError(f'strides needs {len(_CHANNELS)} values (stem + '
                             f'13 blocks), got {len(strides)}')
        if not 1 <= num_f2_blocks < len(_CHANNELS) - 1:
            raise ValueError(f'num_f2_blocks must be in [1, '
                             f'{len(_CHANNELS) - 2}], got {num_f2_blocks}')
        layers = [_conv_bn_relu(3, _CHANNELS[0], strides[0])]
        for i in range(1, len(_CHANNELS)):
            layers.append(
                _depthwise_separable(_CHANNELS[i - 1], _CHANNELS[i],
                                     strides[i]))
        self.model = nn.Sequential(*layers)
        self.strides = tuple(strides)
        self.num_f2_blocks = num_f2_blocks
        self.f2_start = len(_CHANNELS) - num_f2_blocks
        self.f1_channels = _CHANNELS[self.f2_start - 1]
        self.f2_channels = _CHANNELS[-1]
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            freeze_modules(self.model[:self.frozen_stages + 1])

    def forward_f1(self, x: Tensor) -> Tensor:
        """Stem and all blocks but the last ``num_f2_blocks``.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            Tensor: F1, shape (N, f1_channels, H/8, W/8) with BAS strides.
        """
        for layer in self.model[:self.f2_start]:
            x = layer(x)
        return x

    def forward_f2(self, f1: Tensor) -> Tensor:
        """The last ``num_f2_blocks`` blocks.

        Args:
            f1 (Tensor): F1 (possibly erased), shape (N, f1_channels, h1, w1).

        Returns:
            Tensor: F2, shape (N, 1024, ceil(h1/2), ceil(w1/2)) with BAS
            strides.
        """
        x = f1
        for layer in self.model[self.f2_start:]:
            x = layer(x)
        return x

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen stages (and BN with ``norm_eval``) in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            set_norm_eval(self)
        return self
