# Copyright (c) mmbas contributors. All rights reserved.
"""The erased branch (frozen f2 + classifier), owned by the BAS model."""
import copy

import torch
from mmseg.registry import MODELS

import mmbas  # noqa: F401
from mmbas.models.classifiers.erased_branch import erased_forward
from mmbas.testing.bas_reference import TinyBackbone, register_tiny_backbone

BACKBONE = register_tiny_backbone()


def _head(variant='wsol', **kw):
    cfg = dict(
        type='BASHead',
        in_channels_f1=8,
        in_channels_f2=16,
        num_classes=5,
        variant=variant,
        hidden_channels=12)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_erased_forward_is_frozen_and_keeps_live_stats():
    # moved from tests/test_models/test_heads/test_bas_head.py: the erased
    # branch left the head (issue 14); only the call changed
    torch.manual_seed(0)
    backbone = TinyBackbone().train()
    head = _head('wsol').train()
    erased = torch.randn(3, 8, 8, 8, requires_grad=True)
    stats = copy.deepcopy(backbone.state_dict())
    # reference: deep copies in train mode
    ref_bb = copy.deepcopy(backbone)
    ref = copy.deepcopy(head.classifier)(ref_bb.forward_f2(erased))
    out = erased_forward(backbone, head.classifier, erased)
    torch.testing.assert_close(out, ref)
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, stats[k]), k  # live stats untouched
    out.sum().backward()
    assert erased.grad is not None and erased.grad.abs().sum() > 0
    for p in list(backbone.parameters()) + list(head.parameters()):
        assert p.grad is None


class _WholeBackbone(TinyBackbone):
    """A backbone without ``f2_module_names``: everything is frozen."""

    def __getattribute__(self, name):
        if name == 'f2_module_names':
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_model_erased_forward_uses_live_backbone_and_classifier():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='BAS',
            backbone=dict(type=BACKBONE, f2_pool=True),
            head=dict(type='BASHead', num_classes=5, hidden_channels=12),
            seed=0)).train()
    erased = torch.randn(2, 8, 8, 8)
    ref_bb = copy.deepcopy(model.backbone)
    ref = copy.deepcopy(model.head.classifier)(ref_bb.forward_f2(erased))
    torch.testing.assert_close(model.erased_forward(erased), ref)
    # a backbone without f2_module_names: its whole state is swapped in
    whole = _WholeBackbone().train()
    assert not hasattr(whole, 'f2_module_names')
    whole.load_state_dict(model.backbone.state_dict())
    stats = copy.deepcopy(whole.state_dict())
    x = erased.clone().requires_grad_()
    out = erased_forward(whole, model.head.classifier, x)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    for k, v in whole.state_dict().items():
        assert torch.equal(v, stats[k]), k
    assert all(p.grad is None for p in whole.parameters())
