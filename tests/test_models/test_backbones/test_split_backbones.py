# Copyright (c) mmbas contributors. All rights reserved.
"""Interface checks shared by every f1/f2 split backbone."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.func import functional_call

import mmbas  # noqa: F401

# type -> (f1 channels, f2 channels, f1 stride, f2 stride)
SPECS = {
    'WSOLResNet': (1024, 2048, 8, 16),
    'WSSSResNet': (1024, 2048, 16, 16),
    'WSOLVGG16': (512, 512, 8, 16),
    'WSOLInceptionV3': (768, 2048, 8, 16),
    'MobileNetV1': (512, 1024, 8, 16),
}


def build(type_name, **kwargs):
    return MODELS.build(dict(type=type_name, init_cfg=None, **kwargs))


class F2Runner(nn.Module):
    """How the BAS model runs f2: functionally, over the backbone."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, f1):
        return self.backbone.forward_f2(f1)


def frozen_f2_state(backbone):
    """Detached f2 parameters and cloned f2 buffers, keyed for F2Runner."""
    state = {}
    for name in backbone.f2_module_names:
        module = getattr(backbone, name)
        for k, p in module.named_parameters(prefix=f'backbone.{name}'):
            state[k] = p.detach()
        for k, b in module.named_buffers(prefix=f'backbone.{name}'):
            state[k] = b.clone()
    return state


@pytest.mark.parametrize('type_name', list(SPECS))
def test_interface_and_shapes(type_name):
    """Channels and spatial sizes at 224 and 448, on the meta device (shape
    propagation only, no compute)."""
    c1, c2, s1, s2 = SPECS[type_name]
    model = build(type_name)
    assert isinstance(model, BaseModule)
    assert model.f1_channels == c1 and model.f2_channels == c2
    assert isinstance(model.f2_module_names, tuple)
    for name in model.f2_module_names:
        assert isinstance(getattr(model, name), nn.Module)
    model = model.to('meta').eval()
    for size in (224, 448):
        x = torch.empty(1, 3, size, size, device='meta')
        f1, f2 = model(x)
        assert tuple(f1.shape) == (1, c1, size // s1, size // s1), size
        assert tuple(f2.shape) == (1, c2, size // s2, size // s2), size
        assert tuple(model.forward_f1(x).shape) == tuple(f1.shape)
        assert tuple(model.forward_f2(f1).shape) == tuple(f2.shape)


@pytest.mark.parametrize('type_name', list(SPECS))
def test_composition_and_functional_f2(type_name):
    torch.manual_seed(0)
    model = build(type_name).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        f1, f2 = model(x)
        f1_only = model.forward_f1(x)
        f1_copy = f1_only.clone()
        f2_only = model.forward_f2(f1_only)
        # forward_f2 must not write into its input (F1 feeds the generator)
        torch.testing.assert_close(f1_only, f1_copy, rtol=0, atol=0)
        torch.testing.assert_close(f1, f1_only)
        torch.testing.assert_close(f2, f2_only)

        state = frozen_f2_state(model)
        assert state, 'f2 has no parameters'
        f2_func = functional_call(F2Runner(model), state, (f1_only, ))
        torch.testing.assert_close(f2_func, f2_only)


@pytest.mark.parametrize('type_name', ['WSOLResNet', 'MobileNetV1'])
def test_functional_f2_train_mode_keeps_live_buffers(type_name):
    """In train mode the functional f2 normalises with batch statistics and
    writes running statistics to the cloned buffers only; gradients reach the
    input, not the live parameters."""
    torch.manual_seed(0)
    model = build(type_name).train()
    reference = copy.deepcopy(model)
    f1 = torch.randn(2, model.f1_channels, 8, 8, requires_grad=True)
    live_buffers = {k: b.clone() for k, b in model.named_buffers()}
    state = frozen_f2_state(model)
    out = functional_call(F2Runner(model), state, (f1, ))
    expected = reference.forward_f2(f1.detach())
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert f1.grad is not None
    assert all(p.grad is None for p in model.parameters())
    for k, b in model.named_buffers():
        torch.testing.assert_close(b, live_buffers[k], rtol=0, atol=0)
    # the clones were updated like the reference's own buffers
    name = model.f2_module_names[0]
    for k, b in reference.named_buffers():
        if k.startswith(name + '.') and k.endswith('running_mean'):
            if not torch.equal(b, live_buffers[k]):
                torch.testing.assert_close(state[f'backbone.{k}'], b)
                break
    else:
        pytest.fail('no running_mean of f2 changed in train mode')
