# Copyright (c) mmbas contributors. All rights reserved.
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.backbones.inception_v3 import (BasicConv2d, InceptionA,
                                                      InceptionC, InceptionE)
from mmseg.registry import MODELS
from torch import Tensor

from .split_backbone import SplitBackboneMixin, freeze_modules, set_norm_eval


class ReductionB(nn.Module):
    """Inception-v3 grid reduction 35 -> 17 (torchvision ``InceptionB``) with a
    configurable stride and padding.

    Parameter names equal torchvision's ``InceptionB``.

    Args:
        in_channels (int): Input channels.
        stride (int): Stride of the two 3x3 reductions and of the max-pool.
        padding (int): Padding of the two 3x3 reductions (the max-pool uses
            padding 1 when ``padding`` > 0).

    Shapes: (N, in_channels, h, w) -> (N, 384 + 96 + in_channels, h', w').
    """

    def __init__(self,
                 in_channels: int,
                 stride: int = 2,
                 padding: int = 0) -> None:
        super().__init__()
        self.stride = stride
        self.padding = padding
        self.branch3x3 = BasicConv2d(
            in_channels, 384, kernel_size=3, stride=stride, padding=padding)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(
            96, 96, kernel_size=3, stride=stride, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        c = F.max_pool2d(
            x,
            kernel_size=3,
            stride=self.stride,
            padding=1 if self.padding else 0)
        return torch.cat([a, b, c], 1)


class ReductionD(nn.Module):
    """Inception-v3 grid reduction 17 -> 8 (torchvision ``InceptionD``) with a
    configurable padding.

    Parameter names equal torchvision's ``InceptionD``.

    Args:
        in_channels (int): Input channels.
        padding (int): Padding of the two stride-2 3x3 convs and of the
            stride-2 max-pool.

    Shapes: (N, in_channels, h, w) -> (N, 320 + 192 + in_channels, h', w').
    """

    def __init__(self, in_channels: int, padding: int = 0) -> None:
        super().__init__()
        self.padding = padding
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(
            192, 320, kernel_size=3, stride=2, padding=padding)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(
            192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(
            192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(
            192, 192, kernel_size=3, stride=2, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_1(x)
        b = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(b)))
        c = F.max_pool2d(x, kernel_size=3, stride=2, padding=self.padding)
        return torch.cat([a, b, c], 1)


@MODELS.register_module()
class WSOLInceptionV3(SplitBackboneMixin, BaseModule):
    """Inception-v3 split for BAS weakly supervised object localisation.

    Follows the BAS reference Inception-v3, which differs from torchvision's
    in its padding so that maps stay large and aligned:

    * ``Conv2d_1a_3x3`` uses padding 1; both stem max-pools are
      3x3 / stride 2 / padding 1 with ``ceil_mode=True``;
    * ``Mixed_6a`` has stride 1 (3x3 reductions with padding 1, max-pool
      3x3 / stride 1 / padding 1), so F1 stays at 1/8;
    * ``Mixed_7a`` reduces with padding 1 (convs and max-pool).

    F1 = ``Mixed_6e`` output, 768 x 28 x 28 at 224 (56 x 56 at 448);
    F2 = ``Mixed_7c`` output, 2048 x 14 x 14 at 224 (28 x 28 at 448).
    There is no ``AuxLogits`` and no ``fc``. Parameter names are
    torchvision's (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.
    running_mean``, ...), so the torchvision ImageNet checkpoint loads with
    ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://
    inception_v3_google')`` (AuxLogits / fc keys are ignored). BN eps is
    0.001 as in torchvision.

    Args:
        frozen_stages (int): -1: nothing frozen; 0: the stem
            (``Conv2d_1a_3x3``..``Conv2d_4a_3x3``); 1: also ``Mixed_5b..5d``;
            2: also ``Mixed_6a..6e``; 3: also ``Mixed_7a..7c``.
            Defaults to -1.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None (PyTorch default init).

    Attributes:
        f1_channels (int): 768.
        f2_channels (int): 2048.
        f2_module_names (tuple[str]): ``('Mixed_7a', 'Mixed_7b',
            'Mixed_7c')``.
    """

    f1_channels = 768
    f2_channels = 2048
    f2_module_names = ('Mixed_7a', 'Mixed_7b', 'Mixed_7c')
    stage_names = (
        ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Conv2d_3b_1x1',
         'Conv2d_4a_3x3'),
        ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'),
        ('Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'),
        ('Mixed_7a', 'Mixed_7b', 'Mixed_7c'),
    )

    def __init__(self,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.Conv2d_1a_3x3 = BasicConv2d(
            3, 32, kernel_size=3, stride=2, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = ReductionB(288, stride=1, padding=1)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = ReductionD(768, padding=1)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for names in self.stage_names[:self.frozen_stages + 1]:
            freeze_modules(getattr(self, n) for n in names)

    @staticmethod
    def _stem_pool(x: Tensor) -> Tensor:
        return F.max_pool2d(
            x, kernel_size=3, stride=2, padding=1, ceil_mode=True)

    def forward_f1(self, x: Tensor) -> Tensor:
        """Stem .. ``Mixed_6e``.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            Tensor: F1, shape (N, 768, H/8, W/8) for H, W multiples of 32.
        """
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = self._stem_pool(x)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = self._stem_pool(x)
        for name in self.stage_names[1] + self.stage_names[2]:
            x = getattr(self, name)(x)
        return x

    def forward_f2(self, f1: Tensor) -> Tensor:
        """``Mixed_7a`` .. ``Mixed_7c``.

        Args:
            f1 (Tensor): F1 (possibly erased), shape (N, 768, h1, w1).

        Returns:
            Tensor: F2, shape (N, 2048, ceil(h1/2), ceil(w1/2)).
        """
        x = self.Mixed_7a(f1)
        x = self.Mixed_7b(x)
        return self.Mixed_7c(x)

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen stages (and BN with ``norm_eval``) in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            set_norm_eval(self)
        return self
