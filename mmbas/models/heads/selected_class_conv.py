# Copyright (c) mmbas contributors. All rights reserved.
"""One output channel per image of a conv: the generator's M[y] only."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def selected_class_conv2d(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                          cls_idx: Tensor) -> Tensor:
    """``conv2d(x, weight, bias)[n, cls_idx[n]]`` without the other channels.

    Training BAS only needs the selected class's foreground map M[y] (the
    losses read ``M_f = M[y]``), but the generator conv computes all C class
    maps: for CUB (C = 200) that is ~1.4 GMAC per image at 28x28 on 1024
    channels, in the forward, the input gradient and the weight gradient,
    and every map but one is thrown away. Here each image is convolved with
    its own class's filter only. A k x k filter is split into its k*k taps:
    one batched matmul gives every tap's response at every pixel,
    ``R[n, t, p] = weight[y_n, :, t] . x[n, :, p]``, and the output is the
    sum of the taps' responses shifted into place
    (``out[n, i, j] = sum_t R[n, t, i + di_t - pad, j + dj_t - pad]``).
    The values equal the full convolution's channel y_n (up to summation
    order) and so do the gradients: the input gradient, and the weight
    (and bias) gradient, which is zero on the rows of unselected classes as
    it is when all C maps are computed and only one is used.

    Stride 1, dilation 1, 'same' zero padding ``(k - 1) // 2``, odd square
    kernels (the generator's conv3x3).

    Args:
        x (Tensor): (N, C_in, H, W) input (F1).
        weight (Tensor): (C, C_in, k, k) conv weight, k odd.
        bias (Tensor, optional): (C,) conv bias.
        cls_idx (Tensor): (N,) long, the class of each image.

    Returns:
        Tensor: (N, 1, H, W) pre-activation map of each image's class.
    """
    n, c_in, h, w = x.shape
    k = weight.shape[-1]
    if weight.shape[-2] != k or k % 2 == 0 or weight.shape[1] != c_in:
        raise ValueError(f'need a (C, {c_in}, k, k) weight with odd k, got '
                         f'{tuple(weight.shape)}')
    pad = (k - 1) // 2
    # (N, k*k, C_in) filters of each image's class
    taps = weight.index_select(0, cls_idx).reshape(n, c_in, k * k)
    taps = taps.transpose(1, 2)
    # (N, k*k, H*W): every tap's response at every (unshifted) pixel
    resp = torch.bmm(taps, x.reshape(n, c_in, h * w))
    resp = F.pad(resp.view(n, k * k, h, w), (pad, pad, pad, pad))
    out = None
    for t in range(k * k):
        di, dj = divmod(t, k)
        part = resp[:, t, di:di + h, dj:dj + w]
        out = part if out is None else out + part
    if bias is not None:
        out = out + bias.index_select(0, cls_idx).view(n, 1, 1)
    return out.unsqueeze(1)
