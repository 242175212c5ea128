# Copyright (c) mmbas contributors. All rights reserved.
from typing import Optional, Sequence, Tuple, Union

from mmpretrain.models.backbones import ResNet
from mmseg.registry import MODELS
from torch import Tensor

from .wsol_resnet import _DEFAULT_INIT


@MODELS.register_module()
class IRNResNet(ResNet):
    """ResNet returning the outputs of all five stages, the IRN backbone.

    IRN (Ahn et al., CVPR 2019) reads its boundary and displacement
    branches off every stage of a ResNet-50 with strides (1, 2, 2, 1) for
    ``layer1``..``layer4``: stage 1 is the stem *including* the max-pool
    (64 channels, stride 4), then ``layer1`` (256, stride 4), ``layer2``
    (512, stride 8), ``layer3`` (1024, stride 16) and ``layer4`` (2048,
    stride 16). Bottleneck strides sit on the 3x3 conv (``style='pytorch'``)
    as in torchvision.

    Built on mmpretrain's :class:`~mmpretrain.models.backbones.ResNet` with
    the torchvision parameter names (``conv1``, ``bn1``, ``layer1`` ...), so
    ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')``
    loads ImageNet weights directly. Freezing is the IRN model's business
    (:class:`mmbas.models.IRN`), not this class's; ``frozen_stages`` and
    ``norm_eval`` work as in mmpretrain.

    Args:
        depth (int): ResNet depth (18, 34, 50, 101, 152). Defaults to 50.
        strides (Sequence[int]): Stride of the first block of ``layer1``..
            ``layer4``. Defaults to (1, 2, 2, 1) (IRN).
        dilations (Sequence[int]): Dilation of each stage.
            Defaults to (1, 1, 1, 1).
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming conv / constant norm (random init).
        **kwargs: Other arguments of mmpretrain's ``ResNet``
            (``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``deep_stem``,
            ...; ``num_stages`` and ``out_indices`` are fixed).

    Attributes:
        stage_channels (tuple[int]): Channels of the five outputs, e.g.
            (64, 256, 512, 1024, 2048) for ResNet-50 and
            (64, 64, 128, 256, 512) for ResNet-18.
    """

    def __init__(self,
                 depth: int = 50,
                 strides: Sequence[int] = (1, 2, 2, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 init_cfg: Optional[Union[dict, list]] = _DEFAULT_INIT,
                 **kwargs) -> None:
        for key in ('num_stages', 'out_indices'):
            if key in kwargs:
                raise ValueError(f'IRNResNet always returns the stem and '
                                 f'the four stages; remove {key!r}')
        super().__init__(
            depth=depth,
            num_stages=4,
            strides=tuple(strides),
            dilations=tuple(dilations),
            out_indices=(0, 1, 2, 3),
            init_cfg=init_cfg,
            **kwargs)
        stem = self.stem_channels
        self.stage_channels = (stem, ) + tuple(
            getattr(self, name)[-1].out_channels for name in self.res_layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Stem (with max-pool) and ``layer1``..``layer4``.

        Args:
            x (Tensor): Images, (N, 3, H, W).

        Returns:
            tuple[Tensor]: Five features, (N, stage_channels[i], h_i, w_i)
            at strides 4, 4, 8, 16, 16 with the default strides
            (``h = ceil(H / 4)`` for the first two).
        """
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = [x]
        for name in self.res_layers:
            x = getattr(self, name)(x)
            outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        """Set train mode and return ``self`` (mmpretrain's returns None)."""
        super().train(mode)
        return self
