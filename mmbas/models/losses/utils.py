# Copyright (c) mmbas contributors. All rights reserved.
"""Small helpers shared by the BAS losses."""
import torch
from torch import Tensor

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def to_loss_dtype(x: Tensor) -> Tensor:
    """Cast a half / bfloat16 tensor to float32; leave others unchanged.

    Losses are evaluated in at least float32 (so mixed precision training gives
    float32 losses) while float64 inputs (used by the fidelity tests) keep
    their precision.
    """
    if x.is_floating_point() and x.dtype in _LOW_PRECISION:
        return x.float()
    return x


def autocast_off(x: Tensor):
    """Return a context manager that disables autocast on ``x``'s device."""
    return torch.autocast(device_type=x.device.type, enabled=False)
