# Copyright (c) mmbas contributors. All rights reserved.
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.testing import make_voc

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'toy', 'irn_r18_voc_toy.py')
CONFIGS = [
    osp.join(ROOT, 'configs', 'irn', name)
    for name in ('irn_r50_1xb32-3e_voc12aug-512x512.py',
                 'irn_r50_1xb32-3e_coco14-512x512.py')
] + [TOY_CONFIG]


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch thread: on the shared test CPUs two threads made these
    small convolutions several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def toy_voc(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_irn')
    make_voc(str(root), num_train=4, num_val=1)
    return str(root / 'VOCdevkit' / 'VOC2012')


def _toy_model(seed=0):
    torch.manual_seed(seed)
    cfg = Config.fromfile(TOY_CONFIG)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_configs_build(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    channels = model.backbone.stage_channels
    assert model.boundary_head.in_channels == channels
    assert model.displacement_head.in_channels == channels
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert cfg.train_dataloader.dataset.pipeline[1].type == 'LoadAnnotations'
    if path != TOY_CONFIG:
        assert cfg.model.backbone.init_cfg.checkpoint == \
            'torchvision://resnet50'
        assert cfg.train_dataloader.batch_size == 32
        assert cfg.train_cfg.max_epochs == 3
        assert cfg.optim_wrapper.optimizer.lr == 0.1
        assert cfg.param_scheduler[0].convert_to_iter_based
        assert 'RelationLabels' in \
            cfg.train_dataloader.dataset.data_prefix.seg_map_path


def _toy_batch(cfg, data_root, n=2):
    init_default_scope('mmseg')
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.data_root = data_root
    dataset = DATASETS.build(ds_cfg)
    return pseudo_collate([dataset[i] for i in range(n)])


def test_train_step_on_toy_data(toy_voc):
    cfg, model = _toy_model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = _toy_batch(cfg, toy_voc)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    heads = {
        k: v.clone()
        for k, v in model.state_dict().items() if 'head' in k
    }
    model.train()
    assert not model.backbone.training
    assert model.boundary_head.training
    logs = model.train_step(data, wrapper)
    keys = {
        'loss', 'loss_edge', 'loss_disp', 'aff_bg_pos', 'aff_fg_pos',
        'aff_neg', 'disp_fg', 'disp_bg'
    }
    assert set(logs) == keys
    for key, value in logs.items():
        assert torch.isfinite(value), key
    # toy GT relation labels: objects and background in every crop
    assert logs['aff_fg_pos'] > 0 and logs['aff_bg_pos'] > 0
    # the frozen backbone: no gradient, weights and BN buffers bitwise equal
    assert all(p.grad is None for p in model.backbone.parameters())
    after = model.backbone.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    # the heads learn (the mean shift tracks the field)
    changed = [
        k for k, v in model.state_dict().items()
        if k in heads and not torch.equal(v, heads[k])
    ]
    assert any(k.startswith('boundary_head.') for k in changed)
    assert 'displacement_head.out_conv.weight' in changed
    assert 'displacement_head.mean_shift.running_mean' in changed


def test_displacement_branch_learns_ten_times_faster():
    cfg, model = _toy_model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {
        id(p): g['lr']
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    assert lrs[id(model.boundary_head.fuse.weight)] == pytest.approx(0.1)
    assert lrs[id(model.displacement_head.out_conv.weight)] == \
        pytest.approx(1.0)
    assert all(g['momentum'] == 0 for g in wrapper.optimizer.param_groups)


def test_backbone_features_are_detached():
    _, model = _toy_model()
    model.train()
    feats = model.extract_feat(torch.randn(1, 3, 32, 32))
    assert len(feats) == 5 and not any(f.requires_grad for f in feats)
    logits, disp = model._forward(torch.randn(1, 3, 32, 32))
    assert logits.requires_grad and disp.requires_grad


def test_unfrozen_backbone_trains():
    cfg = Config.fromfile(TOY_CONFIG)
    cfg.model.freeze_backbone = False
    model = MODELS.build(cfg.model)
    model.train()
    assert model.backbone.training
    feats = model.extract_feat(torch.randn(1, 3, 32, 32))
    assert feats[-1].requires_grad


def _sample(h, w, pad_hw=None):
    meta = dict(img_path='a.jpg', img_shape=(h, w), ori_shape=(h, w))
    if pad_hw is not None:
        meta['img_padding_size'] = (0, pad_hw[1] - w, 0, pad_hw[0] - h)
    return SegDataSample(metainfo=meta)


def test_predict_fields():
    _, model = _toy_model()
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model.predict(x, [_sample(64, 64), _sample(50, 37, (64, 64))])
        logits, disp = model._forward(x)
        logits_flip, _ = model._forward(x.flip(-1))
    boundary = torch.sigmoid(logits / 2 + logits_flip.flip(-1) / 2)
    assert out[0].irn_stride == 4
    assert out[0].pred_boundary.shape == (16, 16)
    torch.testing.assert_close(out[0].pred_boundary.data, boundary[0])
    torch.testing.assert_close(out[0].pred_displacement.data, disp[0])
    # padding removed: ceil(50 / 4) x ceil(37 / 4)
    assert out[1].pred_boundary.data.shape == (1, 13, 10)
    assert out[1].pred_displacement.data.shape == (2, 13, 10)
    torch.testing.assert_close(out[1].pred_boundary.data,
                               boundary[1, :, :13, :10])
    # without flip
    model.test_cfg['flip'] = False
    with torch.no_grad():
        out = model.predict(x[:1])
    torch.testing.assert_close(out[0].pred_boundary.data,
                               torch.sigmoid(logits[0]))
    assert out[0].img_shape == (64, 64)
    model.output_stride = 8
    with pytest.raises(ValueError, match='set output_stride'):
        model.predict(x[:1])


def test_predict_subtracts_the_mean_displacement():
    _, model = _toy_model()
    shift = model.displacement_head.mean_shift
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        model.train()
        _, raw = model._forward(x)  # passes the field, moves the mean
        assert shift.running_mean.abs().sum() > 0
        shift.running_mean.fill_(0.25)
        model.eval()
        out = model.predict(x)
    torch.testing.assert_close(out[0].pred_displacement.data, raw[0] - 0.25)


def test_loss_needs_relation_labels():
    _, model = _toy_model()
    x = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match='seg_map_path'):
        model.loss(x, [_sample(32, 32)])
    ds = _sample(32, 32)
    ds.gt_sem_seg = PixelData(data=torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match='do not match the input size'):
        model.loss(x, [ds])
    ds.gt_sem_seg = PixelData(data=torch.zeros(1, 32, 32, dtype=torch.long))
    losses = model.loss(x, [ds])
    # background only: no fg or negative pairs
    assert losses['aff_fg_pos'] == 0 and losses['aff_neg'] == 0
    assert math.isfinite(losses['loss_edge'].item())
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(x, mode='nope')
