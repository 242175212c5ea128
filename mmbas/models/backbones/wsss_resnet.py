# Copyright (c) mmbas contributors. All rights reserved.
from typing import Optional, Sequence, Union

from mmseg.registry import MODELS

from .wsol_resnet import _DEFAULT_INIT, WSOLResNet


@MODELS.register_module()
class WSSSResNet(WSOLResNet):
    """ResNet split for BAS weakly supervised semantic segmentation.

    Follows the BAS-Extension WSSS ResNet-50: standard strides up to
    ``layer3`` and a stride-1 ``layer4`` without dilation, so the output
    stride is 16. F1 is the ``layer3`` output (1024 x 28 x 28 for a 448 x 448
    input, 14 x 14 for 224) and f2 is ``layer4`` alone (2048 channels, same
    spatial size as F1). Nothing is frozen in the reference (plain, then
    synchronised, BatchNorm in train mode), hence the defaults below.

    Parameter names are the torchvision ones, see :class:`WSOLResNet`.

    Args:
        depth (int): ResNet depth. Defaults to 50.
        strides (Sequence[int]): Defaults to (1, 2, 2, 1).
        dilations (Sequence[int]): Defaults to (1, 1, 1, 1).
        f2_pool_size (int, optional): Max-pool before ``layer4``.
            Defaults to None (no pool).
        frozen_stages (int): See :class:`WSOLResNet`. Defaults to -1.
        norm_cfg (dict): Defaults to ``dict(type='BN', requires_grad=True)``
            (use ``SyncBN`` for multi-GPU training like the reference).
        norm_eval (bool): Defaults to False.
        zero_init_residual (bool): Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
        **kwargs: Other arguments of mmpretrain's ``ResNet``.
    """

    def __init__(self,
                 depth: int = 50,
                 strides: Sequence[int] = (1, 2, 2, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 f2_pool_size: Optional[int] = None,
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg: Optional[Union[dict, list]] = _DEFAULT_INIT,
                 **kwargs) -> None:
        super().__init__(
            depth=depth,
            strides=strides,
            dilations=dilations,
            f2_pool_size=f2_pool_size,
            frozen_stages=frozen_stages,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            zero_init_residual=zero_init_residual,
            init_cfg=init_cfg,
            **kwargs)
