# Copyright (c) mmbas contributors. All rights reserved.
"""The converter on synthetic checkpoints with the reference key layout."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmseg.registry import MODELS

import mmbas  # noqa: F401

_TOOL = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'model_converters',
    'bas_official_to_mmbas.py')
_spec = importlib.util.spec_from_file_location('bas_official_to_mmbas', _TOOL)
converter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(converter)

NUM_CLASSES = 7


# ---- reference-style models (module names as in wpy1999/BAS[-Extension]) --
class RefVGG(nn.Module):
    """The reference VGG16: conv1_1 to conv5_3 as attributes, then
    classifier_cls / classifier_loc."""

    def __init__(self):
        super().__init__()
        cin = 3
        stages = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
        for g, (cout, n) in enumerate(stages, 1):
            for i in range(1, n + 1):
                setattr(self, f'conv{g}_{i}', nn.Conv2d(cin, cout, 3))
                cin = cout
        self.classifier_cls = _wsol_classifier(512)
        self.classifier_loc = nn.Sequential(
            nn.Conv2d(512, NUM_CLASSES, 3, padding=1), nn.Sigmoid())


def _wsol_classifier(cin, hidden=1024):
    """conv3x3 cin->hidden, ReLU, conv3x3 hidden->hidden, ReLU, conv1x1."""
    return nn.Sequential(
        nn.Conv2d(cin, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, NUM_CLASSES, 1))


def _hidden(variant):
    # The real width is 1024 (checked with VGG16); the converter does not
    # depend on it, so the 2048-channel variants use a narrow classifier to
    # keep the synthetic checkpoints small and the test fast.
    return 1024 if variant == 'wsol-vgg16' else 64


def _mmbas_head(variant, c1, c2):
    """The head modules the BAS model engineer builds."""
    head = nn.Module()
    if variant.startswith('wsss'):
        head.generator = nn.Conv2d(c1, NUM_CLASSES, 3, padding=1, bias=False)
        head.classifier = nn.Sequential(
            nn.Conv2d(c2, NUM_CLASSES, 1, bias=False))
    else:
        head.generator = nn.Conv2d(c1, NUM_CLASSES, 3, padding=1)
        head.classifier = _wsol_classifier(c2, _hidden(variant))
    return head


def _reference_state_dict(variant):
    """A state dict laid out like the authors' models, random values."""
    torch.manual_seed(0)
    if variant == 'wsol-vgg16':
        return RefVGG().state_dict()
    # ResNet / Inception / MobileNet: the reference backbone names equal
    # torchvision's (ResNet, Inception) or ``model.<i>.<j>`` (MobileNet),
    # which the mmbas backbones also use; values are randomised.
    backbone = MODELS.build(dict(converter.BACKBONES[variant], init_cfg=None))
    sd = OrderedDict((k, torch.randn_like(v.float()).to(v.dtype) if v.
                      is_floating_point() else v.clone())
                     for k, v in backbone.state_dict().items())
    c1, c2 = backbone.f1_channels, backbone.f2_channels
    if variant == 'wsss-resnet50':
        sd['classifier_cls.weight'] = torch.randn(NUM_CLASSES, c2, 1, 1)
        sd['classifier_loc.0.weight'] = torch.randn(NUM_CLASSES, c1, 3, 3)
    else:
        classifier = _wsol_classifier(c2, _hidden(variant))
        for k, v in classifier.state_dict().items():
            sd[f'classifier_cls.{k}'] = v
        sd['classifier_loc.0.weight'] = torch.randn(NUM_CLASSES, c1, 3, 3)
        sd['classifier_loc.0.bias'] = torch.randn(NUM_CLASSES)
    return sd


def _save_reference(sd, path, wrapped=True):
    sd = OrderedDict((f'module.{k}', v) for k, v in sd.items())
    obj = dict(model=sd, best_thr=0.25, epoch=100) if wrapped else sd
    torch.save(obj, path)


def _check_loads(dst, variant, src_sd):
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['variant'] == variant
    assert ckpt['meta']['num_classes'] == NUM_CLASSES
    new_sd = ckpt['state_dict']
    backbone = MODELS.build(dict(converter.BACKBONES[variant], init_cfg=None))
    backbone.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in new_sd.items() if k.startswith('backbone.')
        },
        strict=True)
    head = _mmbas_head(variant, backbone.f1_channels, backbone.f2_channels)
    head.load_state_dict(
        {
            k[len('head.'):]: v
            for k, v in new_sd.items() if k.startswith('head.')
        },
        strict=True)
    assert torch.equal(head.generator.weight,
                       src_sd['classifier_loc.0.weight'])
    return backbone, new_sd


@pytest.mark.parametrize('variant', [
    'wsss-resnet50', 'wsol-resnet50', 'wsol-vgg16', 'wsol-mobilenetv1',
    'wsol-inceptionv3'
])
def test_convert_and_load_strict(tmp_path, variant, capsys):
    src_sd = _reference_state_dict(variant)
    src = tmp_path / 'best_loc.pth.tar'
    _save_reference(src_sd, src, wrapped=not variant.startswith('wsss'))
    dst = tmp_path / 'converted.pth'
    # no --variant: detected from the key names
    assert converter.main([str(src), str(dst)]) == 0
    assert variant in capsys.readouterr().out
    backbone, new_sd = _check_loads(dst, variant, src_sd)
    if variant == 'wsol-vgg16':
        assert torch.equal(backbone.features[28].weight,
                           src_sd['conv5_3.weight'])
        assert torch.equal(new_sd['head.classifier.4.bias'],
                           src_sd['classifier_cls.4.bias'])
    elif variant == 'wsss-resnet50':
        assert torch.equal(new_sd['head.classifier.0.weight'],
                           src_sd['classifier_cls.weight'])
    else:
        k = next(iter(backbone.state_dict()))
        assert torch.equal(backbone.state_dict()[k], src_sd[k])


def test_cvpr_copies_dropped_and_unknown_keys_reported(tmp_path, capsys):
    sd = _reference_state_dict('wsol-vgg16')
    sd['conv_copy_5_1.weight'] = sd['conv5_1.weight'].clone()
    sd['classifier_cls_copy.0.weight'] = sd['classifier_cls.0.weight']
    sd['something_else.weight'] = torch.zeros(1)
    src = tmp_path / 'cvpr.pth.tar'
    _save_reference(sd, src)
    dst = tmp_path / 'out.pth'
    assert converter.main([str(src), str(dst), '--variant', 'wsol-vgg16']) == 0
    out = capsys.readouterr().out
    assert 'dropped 2 keys' in out
    assert 'something_else.weight' in out
    _check_loads(dst, 'wsol-vgg16', sd)


def test_errors(tmp_path, capsys):
    sd = _reference_state_dict('wsol-vgg16')
    src = tmp_path / 'vgg.pth.tar'
    _save_reference(sd, src)
    dst = tmp_path / 'out.pth'
    # variant disagreeing with the keys
    assert converter.main([str(src),
                           str(dst), '--variant', 'wsol-resnet50']) == 1
    assert 'look like wsol-vgg16' in capsys.readouterr().err
    # unknown layout
    torch.save({'foo.weight': torch.zeros(1)}, src)
    assert converter.main([str(src), str(dst)]) == 1
    assert 'unknown checkpoint layout' in capsys.readouterr().err
    # a plain ImageNet ResNet is not a BAS checkpoint
    torch.save({'layer4.0.conv1.weight': torch.zeros(1)}, src)
    assert converter.main([str(src), str(dst)]) == 1
    assert 'not a BAS checkpoint' in capsys.readouterr().err
    # missing head conv
    del sd['classifier_cls.4.weight']
    _save_reference(sd, src)
    assert converter.main([str(src), str(dst)]) == 1
    assert 'missing' in capsys.readouterr().err
    assert not dst.exists()


def test_helpers():
    assert converter.strip_module_prefix({'module.module.a': 1})['a'] == 1
    assert converter.map_key('conv4_3.bias',
                             'wsol-vgg16') == 'backbone.features.21.bias'
    assert converter.map_key('classifier_loc.0.weight', 'wsss-resnet50') == \
        'head.generator.weight'
    assert converter.map_key('classifier_cls.0.weight',
                             'wsss-resnet50') is None
    assert converter.map_key('Mixed_7c.branch_pool.bn.running_var',
                             'wsol-inceptionv3') == \
        'backbone.Mixed_7c.branch_pool.bn.running_var'
