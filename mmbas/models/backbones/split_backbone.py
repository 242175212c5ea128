# Copyright (c) mmbas contributors. All rights reserved.
"""Shared pieces of the f1/f2 split backbones used by BAS.

Every BAS backbone is cut in two parts:

* ``forward_f1(x)``: image ``(N, 3, H, W)`` -> ``F1`` ``(N, f1_channels, h1,
  w1)``, the feature the generator reads and the one that gets erased;
* ``forward_f2(f1)``: ``F1`` -> ``F2`` ``(N, f2_channels, h2, w2)``, the part
  that is run a second time, on the erased feature, with frozen weights.

``f2_module_names`` names the top-level child modules whose parameters and
buffers ``forward_f2`` may read. The BAS model swaps in detached parameters
(and cloned BN buffers) for exactly those children through
``torch.func.functional_call``. A name may denote a container that also holds
f1 layers (VGG16 ``features``, MobileNetV1 ``model``: their parameter names
have to stay checkpoint compatible); that is harmless because ``forward_f2``
only runs its own slice of the container.
"""
from typing import Iterable, Tuple

import torch.nn as nn
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm


class SplitBackboneMixin:
    """``forward`` and freezing helpers for f1/f2 split backbones.

    Subclasses define ``forward_f1``, ``forward_f2``, ``f1_channels``,
    ``f2_channels`` and ``f2_module_names``.
    """

    f1_channels: int
    f2_channels: int
    f2_module_names: Tuple[str, ...]

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Run both parts.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            tuple[Tensor, Tensor]: ``(f1, f2)`` with shapes
            (N, f1_channels, h1, w1) and (N, f2_channels, h2, w2).
        """
        f1 = self.forward_f1(x)
        f2 = self.forward_f2(f1)
        return f1, f2


def freeze_modules(modules: Iterable[nn.Module]) -> None:
    """Put ``modules`` in eval mode and stop gradients to their parameters."""
    for m in modules:
        m.eval()
        for param in m.parameters():
            param.requires_grad = False


def set_norm_eval(module: nn.Module) -> None:
    """Put every BatchNorm layer of ``module`` in eval mode."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
