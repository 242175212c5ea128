# Copyright (c) mmbas contributors. All rights reserved.
from typing import Optional, Sequence, Union

import torch.nn.functional as F
from mmpretrain.models.backbones import ResNet
from mmseg.registry import MODELS
from torch import Tensor

from .split_backbone import SplitBackboneMixin

_DEFAULT_INIT = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]


@MODELS.register_module()
class WSOLResNet(SplitBackboneMixin, ResNet):
    """ResNet split for BAS weakly supervised object localisation.

    Follows the BAS reference ResNet-50: ``layer3`` keeps stride 1, so F1 is
    the ``layer3`` output at 1/8 of the input (1024 x 28 x 28 for a 224 x 224
    input, 56 x 56 for 448); f2 is a 2 x 2 max-pool followed by ``layer4``
    with stride 1, so F2 is at 1/16 (2048 x 14 x 14 for 224, 28 x 28 for 448).
    No dilation is used (the reference has none).

    Built on mmpretrain's :class:`~mmpretrain.models.backbones.ResNet`, so the
    parameter names (``conv1``, ``bn1``, ``layer1``..``layer4``,
    ``downsample.0/1``) are the torchvision ones: ``torchvision://resnet50``
    loads directly, mmpretrain's ImageNet checkpoints load with
    ``prefix='backbone.'`` in the ``Pretrained`` init config.

    Args:
        depth (int): ResNet depth (18, 34, 50, 101, 152). Defaults to 50.
        strides (Sequence[int]): Stride of the first block of each of the
            four stages. Defaults to (1, 2, 1, 1) (reference WSOL layout).
        dilations (Sequence[int]): Dilation of each stage.
            Defaults to (1, 1, 1, 1).
        f2_pool_size (int, optional): Kernel (= stride) of the max-pool that
            starts f2. ``None`` or 0 for no pool. Defaults to 2.
        frozen_stages (int): -1: nothing frozen; 0: the stem (conv1, bn1);
            k >= 1: the stem and ``layer1``..``layer{k}``. Defaults to -1.
        norm_cfg (dict): Normalisation layer config.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        zero_init_residual (bool): Zero the last BN of each block at init
            (ignored with a ``Pretrained`` init). Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config; use
            ``dict(type='Pretrained', checkpoint='torchvision://resnet50')``
            for ImageNet weights. Defaults to Kaiming conv / constant BN.
        **kwargs: Other arguments of mmpretrain's ``ResNet`` (``style``,
            ``deep_stem``, ``avg_down``, ``with_cp``, ...).

    Attributes:
        f1_channels (int): Channels of F1 (1024 for ResNet-50).
        f2_channels (int): Channels of F2 (2048 for ResNet-50).
        f2_module_names (tuple[str]): ``('layer4',)``.
    """

    f2_module_names = ('layer4', )

    def __init__(self,
                 depth: int = 50,
                 strides: Sequence[int] = (1, 2, 1, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 f2_pool_size: Optional[int] = 2,
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg: Optional[Union[dict, list]] = _DEFAULT_INIT,
                 **kwargs) -> None:
        kwargs.pop('out_indices', None)
        kwargs.pop('num_stages', None)
        super().__init__(
            depth=depth,
            num_stages=4,
            strides=tuple(strides),
            dilations=tuple(dilations),
            out_indices=(3, ),
            frozen_stages=frozen_stages,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            zero_init_residual=zero_init_residual,
            init_cfg=init_cfg,
            **kwargs)
        self.f2_pool_size = f2_pool_size or 0
        self.f1_channels = self.layer3[-1].out_channels
        self.f2_channels = self.layer4[-1].out_channels

    def forward_f1(self, x: Tensor) -> Tensor:
        """Stem and ``layer1``..``layer3``.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            Tensor: F1, shape (N, f1_channels, H/8, W/8) with the default
            strides (H/16 for :class:`WSSSResNet`).
        """
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.conv1(x)
            x = self.norm1(x)
            x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        return self.layer3(x)

    def forward_f2(self, f1: Tensor) -> Tensor:
        """Optional max-pool, then ``layer4``.

        Args:
            f1 (Tensor): F1 (possibly erased), shape (N, f1_channels, h1, w1).

        Returns:
            Tensor: F2, shape (N, f2_channels, h1 / f2_pool_size,
            w1 / f2_pool_size) (floor) with the default stride-1 ``layer4``.
        """
        x = f1
        if self.f2_pool_size > 1:
            x = F.max_pool2d(x, kernel_size=self.f2_pool_size)
        return self.layer4(x)

    def train(self, mode: bool = True):
        """Set train mode (frozen stages and, with ``norm_eval``, BN layers
        stay in eval mode) and return ``self`` (mmpretrain's ``ResNet.train``
        returns None, which breaks ``model.eval()`` chaining)."""
        super().train(mode)
        return self
