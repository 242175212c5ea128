# Copyright (c) mmbas contributors. All rights reserved.
"""selected_class_conv2d: the selected channel of a full conv, values and
gradients (float64), with the generator's shapes and edge cases."""
import pytest
import torch
import torch.nn.functional as F

from mmbas.models.heads.selected_class_conv import selected_class_conv2d


def _full(x, weight, bias, idx):
    k = weight.shape[-1]
    out = F.conv2d(x, weight, bias, padding=(k - 1) // 2)
    n, _, h, w = out.shape
    return out.gather(1, idx.view(n, 1, 1, 1).expand(n, 1, h, w))


def _inputs(n=4, c_in=6, c=5, h=7, w=9, k=3, bias=True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c_in, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(c, c_in, k, k, generator=gen, dtype=torch.float64)
    b = torch.randn(c, generator=gen, dtype=torch.float64) if bias else None
    return x, weight, b


@pytest.mark.parametrize('k', [1, 3, 5])
@pytest.mark.parametrize('bias', [True, False])
def test_values_and_gradients_equal_full_conv(k, bias):
    x, weight, b = _inputs(k=k, bias=bias)
    idx = torch.tensor([3, 0, 3, 4])  # a class used twice, two never
    upstream = torch.randn(4, 1, 7, 9, dtype=torch.float64)
    results = []
    for fn in (_full, selected_class_conv2d):
        leaves = [t.clone().requires_grad_() for t in (x, weight)]
        bl = b.clone().requires_grad_() if bias else None
        out = fn(leaves[0], leaves[1], bl, idx)
        (out * upstream).sum().backward()
        grads = [leaves[0].grad, leaves[1].grad]
        if bias:
            grads.append(bl.grad)
        results.append((out.detach(), grads))
    (ref, ref_grads), (got, got_grads) = results
    assert got.shape == (4, 1, 7, 9)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    for g, r in zip(got_grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-12)
    # unselected classes get exactly zero weight gradient
    assert got_grads[1][[1, 2]].abs().sum() == 0


def test_channels_last_and_bf16_autocast():
    x, weight, b = _inputs(n=3, c_in=16, c=4, h=12, w=12)
    x, weight, b = x.float(), weight.float(), b.float()
    idx = torch.tensor([1, 2, 0])
    ref = _full(x, weight, b, idx)
    got = selected_class_conv2d(
        x.contiguous(memory_format=torch.channels_last), weight, b, idx)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = selected_class_conv2d(x, weight, b, idx)
    assert torch.isfinite(low).all()
    # bf16 has ~3 significant digits; the sums here are O(10)
    assert (low.float() - ref).abs().max() < 0.5


def test_rejects_even_or_mismatched_kernels():
    x, weight, b = _inputs(k=3)
    idx = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match='odd k'):
        selected_class_conv2d(x, weight[..., :2, :2], b, idx)
    with pytest.raises(ValueError, match='odd k'):
        selected_class_conv2d(x, weight[:, :3], b, idx)
