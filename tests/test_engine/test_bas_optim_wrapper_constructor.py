# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

import mmbas  # noqa: F401


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.head = nn.Conv2d(4, 2, 1)


def lrs_by_name(model, optim_wrapper):
    by_param = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            by_param[id(p)] = (group['lr'], group['weight_decay'])
    return {n: by_param[id(p)] for n, p in model.named_parameters()}


def test_backbone_and_bias_multipliers_compose():
    model = Net()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(
                type='SGD', lr=1e-2, momentum=0.9, weight_decay=5e-4),
            constructor='BASOptimWrapperConstructor',
            paramwise_cfg=dict(
                custom_keys={'backbone': dict(lr_mult=0.1)},
                bias_lr_mult=2.0,
                norm_decay_mult=0.0)))
    got = lrs_by_name(model, wrapper)
    assert got['backbone.0.weight'] == (pytest.approx(1e-3), 5e-4)
    assert got['backbone.0.bias'] == (pytest.approx(2e-3), 5e-4)
    # norm parameters: no bias multiplier, norm decay multiplier
    assert got['backbone.1.weight'] == (pytest.approx(1e-3), 0.0)
    assert got['backbone.1.bias'] == (pytest.approx(1e-3), 0.0)
    assert got['head.weight'] == (pytest.approx(1e-2), 5e-4)
    assert got['head.bias'] == (pytest.approx(2e-2), 5e-4)
    n_params = sum(len(g['params']) for g in wrapper.optimizer.param_groups)
    assert n_params == len(list(model.parameters()))


def test_default_constructor_would_drop_the_bias_multiplier():
    """Why the constructor exists: mmengine's skips bias_lr_mult on
    parameters matched by custom_keys."""
    model = Net()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=1e-2, weight_decay=5e-4),
            paramwise_cfg=dict(
                custom_keys={'backbone': dict(lr_mult=0.1)},
                bias_lr_mult=2.0)))
    assert lrs_by_name(model, wrapper)['backbone.0.bias'][0] == \
        pytest.approx(1e-3)
