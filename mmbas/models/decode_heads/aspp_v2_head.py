# Copyright (c) mmbas contributors. All rights reserved.
"""DeepLab-v2 ASPP-L decode head (the WSSS final-stage protocol)."""
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ASPPV2Head(BaseDecodeHead):
    """Atrous Spatial Pyramid Pooling of DeepLab-v2 (ASPP-L).

    "DeepLab: Semantic Image Segmentation with Deep Convolutional Nets,
    Atrous Convolution, and Fully Connected CRFs" (TPAMI 2018). Every branch
    is ONE 3x3 convolution with dilation ``d`` (``padding = d``) that maps
    the backbone feature straight to the class logits; the branch outputs
    are summed. Unlike mmseg's ``ASPPHead`` (DeepLab-v3) there is no image
    pooling branch, no BatchNorm / ReLU in the branches, no bottleneck and
    no separate ``conv_seg`` classifier: the summed branches *are* the
    logits. This is the head WSSS papers (BAS included) train on their
    pseudo masks ("DeepLabV2, ResNet-101").

    Shapes: input ``inputs[in_index]`` is (N, in_channels, H/8, W/8) for an
    output-stride-8 backbone; :meth:`forward` returns (N, num_classes, H/8,
    W/8) logits, which :class:`BaseDecodeHead` resizes to the label size in
    ``loss`` and to the image size in ``predict``.

    Args:
        in_channels (int): Channels of the selected backbone feature
            (2048 for ResNet-50/101 ``layer4``).
        num_classes (int): Number of classes, background included
            (21 for VOC, 81 for COCO).
        dilations (Sequence[int]): Dilation (= padding) of each branch.
            Defaults to (6, 12, 18, 24), DeepLab-v2's ASPP-L.
        dropout_ratio (float): Dropout (``Dropout2d``) on the input feature
            before the branches. Defaults to 0 (none, as DeepLab-v2 with
            ResNet-101).
        in_index (int): Index of the backbone output used. Defaults to -1.
        init_cfg (dict | list[dict]): Weight init. Defaults to DeepLab-v2's
            N(0, 0.01) weights and zero biases of every branch conv.
        **kwargs: Other :class:`BaseDecodeHead` arguments (``loss_decode``,
            ``ignore_index``, ``align_corners``, ``sampler``, ...).
            ``channels`` is not used (there is no hidden layer) and defaults
            to ``num_classes``; ``norm_cfg`` / ``act_cfg`` are ignored.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 dropout_ratio: float = 0.0,
                 in_index: int = -1,
                 init_cfg: Union[dict, List[dict]] = dict(
                     type='Normal', std=0.01, bias=0.0, layer='Conv2d'),
                 **kwargs) -> None:
        kwargs.setdefault('channels', num_classes)
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            dropout_ratio=dropout_ratio,
            in_index=in_index,
            init_cfg=init_cfg,
            **kwargs)
        if not dilations:
            raise ValueError('ASPPV2Head needs at least one dilation')
        self.dilations = tuple(int(d) for d in dilations)
        # the branches produce the logits: no separate 1x1 classifier
        del self.conv_seg
        self.aspp_convs = nn.ModuleList([
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=d,
                dilation=d,
                bias=True) for d in self.dilations
        ])

    def forward(self, inputs: Union[Tuple[Tensor], List[Tensor]]) -> Tensor:
        """Sum of the dilated branches.

        Args:
            inputs (tuple[Tensor]): Backbone features; ``inputs[in_index]``
                is (N, in_channels, h, w).

        Returns:
            Tensor: (N, num_classes, h, w) segmentation logits.
        """
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        out = self.aspp_convs[0](x)
        for conv in self.aspp_convs[1:]:
            out = out + conv(x)
        return out

    def cls_seg(self, feat: Tensor) -> Tensor:  # pragma: no cover
        """Not used: the ASPP branches already output class logits."""
        raise NotImplementedError(
            'ASPPV2Head has no conv_seg; forward() returns the logits')
