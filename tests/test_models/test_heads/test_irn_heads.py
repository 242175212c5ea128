# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmbas.models.heads import (DisplacementMeanShift, IRNBoundaryHead,
                                IRNBranch, IRNDisplacementHead)

CHANNELS = (4, 6, 8, 10, 12)


def _feats(h=13, w=18, n=2):
    """Five stages of a 50 x 70 input at strides 4, 4, 8, 16, 16."""
    sizes = [(h, w), (h, w), (7, 9), (4, 5), (4, 5)]
    return [torch.randn(n, c, *s) for c, s in zip(CHANNELS, sizes)]


def test_branch_upsamples_by_the_stride_ratio_and_crops():
    torch.manual_seed(0)
    branch = IRNBranch(3, 4, 2)
    x = torch.randn(1, 3, 4, 5)
    out = branch(x, (13, 18))
    assert out.shape == (1, 4, 13, 18)
    # x4 (the stride ratio 16 / 4), cropped top-left, ReLU last
    y = branch.norm(branch.conv(x))
    y = F.interpolate(
        y, scale_factor=4, mode='bilinear', align_corners=False)[..., :13, :18]
    torch.testing.assert_close(out, y.relu())
    assert branch(x).shape == (1, 4, 4, 5)
    with pytest.raises(ValueError, match='divide'):
        IRNBranch(3, 5, 2)


def test_boundary_head():
    head = IRNBoundaryHead(CHANNELS, channels=8, num_groups=2)
    out = head(_feats())
    assert out.shape == (2, 1, 13, 18)
    assert head.fuse.in_channels == 40 and head.fuse.bias is not None
    with pytest.raises(ValueError, match='expects 5'):
        head(_feats()[:4])


def test_displacement_head():
    head = IRNDisplacementHead(
        CHANNELS,
        channels=(4, 4, 8, 8, 8),
        num_groups=(2, 2, 2, 2, 2),
        mid_channels=8,
        mid_groups=2)
    assert head.fuse_coarse.conv.in_channels == 24
    assert head.fuse_fine.conv.in_channels == 16
    assert head.out_conv.bias is None
    out = head(_feats())
    assert out.shape == (2, 2, 13, 18)
    with pytest.raises(ValueError, match='5 entries'):
        IRNDisplacementHead(CHANNELS[:4])


def test_mean_shift():
    shift = DisplacementMeanShift(2, momentum=0.5)
    x = torch.zeros(2, 2, 3, 3)
    x[:, 0] = 2.
    x[:, 1] = -4.
    shift.train()
    assert torch.equal(shift(x), x)  # training: unchanged
    torch.testing.assert_close(shift.running_mean, torch.tensor([1., -2.]))
    shift(x)
    torch.testing.assert_close(shift.running_mean, torch.tensor([1.5, -3.]))
    shift.eval()
    torch.testing.assert_close(
        shift(x)[:, :, 0, 0], torch.tensor([[.5, -1.], [.5, -1.]]))
