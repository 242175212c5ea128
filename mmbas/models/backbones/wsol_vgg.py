# Copyright (c) mmbas contributors. All rights reserved.
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from .split_backbone import SplitBackboneMixin, freeze_modules

# (out_channels, number of 3x3 convs) of the five VGG16 conv groups.
_VGG16_GROUPS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


@MODELS.register_module()
class WSOLVGG16(SplitBackboneMixin, BaseModule):
    """VGG16 split for BAS weakly supervised object localisation.

    All layers live in one ``nn.Sequential`` named ``features`` with the
    torchvision indices (``features.0`` = conv1_1, ..., ``features.28`` =
    conv5_3), so ``init_cfg=dict(type='Pretrained',
    checkpoint='torchvision://vgg16')`` loads the conv weights (the
    checkpoint's ``classifier.*`` keys are ignored). ``pool5`` (index 30) and
    the fully connected layers are dropped.

    * f1 = ``features[:23]``: conv1_1 .. conv4_3 + ReLU, with pool1..pool3;
      F1 is 512 x H/8 x W/8 (28 x 28 at 224, 56 x 56 at 448).
    * f2 = ``features[23:]``: pool4, conv5_1 .. conv5_3 (+ ReLU);
      F2 is 512 x H/16 x W/16 (14 x 14 at 224, 28 x 28 at 448).

    Args:
        frozen_stages (int): Number of leading conv groups (conv1_x, conv2_x,
            ...) whose parameters are frozen; -1 or 0 freezes nothing.
            Defaults to -1.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to None (PyTorch default init).

    Attributes:
        f1_channels (int): 512.
        f2_channels (int): 512.
        f2_module_names (tuple[str]): ``('features',)``; ``forward_f2`` only
            uses ``features[23:]``.
    """

    f2_module_names = ('features', )
    f1_channels = 512
    f2_channels = 512
    #: index in ``features`` where f2 starts (pool4)
    f2_start = 23

    def __init__(self,
                 frozen_stages: int = -1,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = []
        in_channels = 3
        # index ranges of each conv group inside ``features``
        self.group_ranges = []
        for group, (out_channels, num_convs) in enumerate(_VGG16_GROUPS):
            start = len(layers)
            for _ in range(num_convs):
                layers.append(
                    nn.Conv2d(in_channels, out_channels, 3, padding=1))
                layers.append(nn.ReLU(inplace=True))
                in_channels = out_channels
            self.group_ranges.append((start, len(layers)))
            if group < len(_VGG16_GROUPS) - 1:  # pool1..pool4, no pool5
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        assert isinstance(self.features[self.f2_start], nn.MaxPool2d)
        self.frozen_stages = frozen_stages
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        for start, end in self.group_ranges[:max(self.frozen_stages, 0)]:
            freeze_modules(self.features[start:end])

    def forward_f1(self, x: Tensor) -> Tensor:
        """conv1_1 .. relu4_3.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            Tensor: F1, shape (N, 512, H/8, W/8).
        """
        for layer in self.features[:self.f2_start]:
            x = layer(x)
        return x

    def forward_f2(self, f1: Tensor) -> Tensor:
        """pool4, conv5_1 .. relu5_3.

        Args:
            f1 (Tensor): F1 (possibly erased), shape (N, 512, h1, w1).

        Returns:
            Tensor: F2, shape (N, 512, h1/2, w1/2) (floor).
        """
        x = f1
        for layer in self.features[self.f2_start:]:
            x = layer(x)
        return x

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen groups in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self
