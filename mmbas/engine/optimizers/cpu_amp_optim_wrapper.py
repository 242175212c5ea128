# Copyright (c) mmbas contributors. All rights reserved.
"""Mixed precision on machines without a GPU.

mmengine's ``AmpOptimWrapper`` refuses to start without CUDA/NPU/MLU/MUSA.
``tools/train.py --amp`` therefore picks :class:`CPUAmpOptimWrapper` on
CPU-only machines: bfloat16 autocast (the CPU autocast dtype), and no loss
scaler, which bfloat16's float32-sized exponent range does not need.
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """An :class:`~mmengine.optim.OptimWrapper` whose forward runs under CPU
    autocast.

    Args:
        dtype (str | torch.dtype): Autocast dtype; only ``'bfloat16'`` is
            supported by CPU autocast for convolutions. Defaults to
            ``'bfloat16'``.
        **kwargs: Passed to :class:`~mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        kwargs.pop('loss_scale', None)  # set by tools/train.py --amp
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype,
                                                              str) else dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield
