# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torchvision

from mmbas.models.backbones import IRNResNet


def test_five_stages_and_strides():
    model = IRNResNet(depth=18, init_cfg=None).eval()
    assert model.stage_channels == (64, 64, 128, 256, 512)
    with torch.no_grad():
        feats = model(torch.randn(1, 3, 64, 96))
    shapes = [tuple(f.shape[1:]) for f in feats]
    assert shapes == [(64, 16, 24), (64, 16, 24), (128, 8, 12), (256, 4, 6),
                      (512, 4, 6)]
    assert IRNResNet(
        depth=50, init_cfg=None).stage_channels == (64, 256, 512, 1024, 2048)
    with pytest.raises(ValueError, match='out_indices'):
        IRNResNet(depth=18, out_indices=(3, ))


def test_equals_torchvision_with_stride_one_layer4():
    """torchvision weights load as they are (same parameter names), and the
    stages equal torchvision's ResNet with layer4's stride set to 1 (IRN's
    strides (1, 2, 2, 1))."""
    torch.manual_seed(0)
    ref = torchvision.models.resnet18().eval()
    ref.layer4[0].conv1.stride = (1, 1)
    ref.layer4[0].downsample[0].stride = (1, 1)
    state = {
        k: v
        for k, v in ref.state_dict().items() if not k.startswith('fc.')
    }
    model = IRNResNet(depth=18, init_cfg=None).eval()
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        feats = model(x)
        y = ref.maxpool(ref.relu(ref.bn1(ref.conv1(x))))
        expected = [y]
        for name in ('layer1', 'layer2', 'layer3', 'layer4'):
            y = getattr(ref, name)(y)
            expected.append(y)
    for f, e in zip(feats, expected):
        torch.testing.assert_close(f, e)
