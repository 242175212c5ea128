# Copyright (c) mmbas contributors. All rights reserved.
"""BAS model: fidelity to the literal reference of the method spec, class
selection, mixed precision, predict and input checks."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.testing.bas_reference import (reference_bas_losses,
                                         register_tiny_backbone)

BACKBONE = register_tiny_backbone()
C = 5
LOSS_KEYS = ('loss_cls', 'loss_frg', 'loss_bas', 'loss_area')


def build_bas(variant='wsol', multi_label=False, **kw):
    cfg = dict(
        type='BAS',
        backbone=dict(type=BACKBONE, f2_pool=(variant == 'wsol')),
        head=dict(
            type='BASHead',
            in_channels_f1=8,
            in_channels_f2=16,
            num_classes=C,
            variant=variant,
            hidden_channels=12,
            loss_cls=dict(type='MultiLabelPosNegLoss'
                          if multi_label else 'BASCrossEntropyLoss'),
            loss_frg=dict(type='ForegroundGuidanceLoss', loss_weight=0.5),
            loss_bas=dict(type='BASLoss', loss_weight=1.0),
            loss_area=dict(type='AreaLoss', loss_weight=1.5)),
        multi_label=multi_label,
        seed=0)
    cfg.update(kw)
    return MODELS.build(cfg)


def samples(labels, **meta):
    out = []
    for i, lab in enumerate(labels):
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'img_{i}.jpg',
                img_shape=(32, 32),
                ori_shape=(32, 32),
                **meta))
        ds.set_data(dict(gt_label=torch.tensor(lab, dtype=torch.long)))
        out.append(ds)
    return out


CASES = {
    'wsol-single': ('wsol', False, [[1], [0], [2], [4]], [1, 0, 2, 4]),
    'wsss-multi': ('wsss', True, [[1, 3], [0], [2, 4, 1], [4]], [3, 0, 1, 4]),
    'wsol-multi': ('wsol', True, [[0, 2], [3], [1, 4], [2, 3]], [2, 3, 1, 2]),
}


def mixed_setup(case):
    """Model + input whose L_bas has both clamped and unclamped entries."""
    variant, ml, labels, cls = CASES[case]
    for seed in range(50):
        torch.manual_seed(seed)
        model = build_bas(variant, ml).double().train()
        x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
        probe = copy.deepcopy(model)
        with torch.no_grad():
            f1, f2 = probe.extract_feat(x)
            idx = torch.tensor(cls)
            maps, cam = probe.head(f1, f2)
            fg = probe.head.gather_class_map(maps, idx)
            s = cam.mean((2, 3))[torch.arange(4), idx]
            s_bg = probe.erased_forward(f1 * (1 - fg))
            s_bg = s_bg.mean((2, 3))[torch.arange(4), idx]
        clamped = s_bg > s
        if clamped.any() and (~clamped & (s_bg > 0)).any():
            return model, x, samples(labels), cls
    raise AssertionError('no mixed seed found')


def grads(model):
    return {
        n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
        for n, p in model.named_parameters()
    }


@pytest.mark.parametrize('case', list(CASES))
def test_fast_equals_reference(case):
    model, x, data_samples, cls = mixed_setup(case)
    ref = copy.deepcopy(model)
    main_only = copy.deepcopy(model)
    model.class_sampler = lambda mh, first: torch.tensor(cls)

    fast = model.loss(x, data_samples)
    slow = reference_bas_losses(ref, x, data_samples, cls)
    for k in LOSS_KEYS:
        torch.testing.assert_close(
            fast[k], slow[k].to(fast[k].dtype), rtol=1e-5, atol=0)
    assert 'acc' in fast and 'bg_ratio' in fast
    assert not fast['bg_ratio'].requires_grad

    sum(fast[k] for k in LOSS_KEYS).backward()
    sum(slow.values()).backward()
    g_fast, g_slow = grads(model), grads(ref)
    groups = {
        'backbone.layer1': 0,
        'backbone.layer2': 0,
        'head.generator': 0,
        'head.classifier': 0
    }
    for name in g_fast:
        ref_g = g_slow[name]
        scale = ref_g.abs().max().clamp(min=1e-12)
        err = (g_fast[name] - ref_g).abs().max() / scale
        assert err <= 1e-5, (name, err)
        for g in groups:
            if name.startswith(g):
                groups[g] += 1
                assert g_fast[name].abs().sum() > 0, name
    assert all(v > 0 for v in groups.values()), groups

    # running statistics: updated by the main branch only
    main_only.backbone(x)
    for (name, b), (_, b_ref), (_, b_main) in zip(model.named_buffers(),
                                                  ref.named_buffers(),
                                                  main_only.named_buffers()):
        torch.testing.assert_close(b, b_ref, rtol=1e-12, atol=0)
        torch.testing.assert_close(b, b_main, rtol=1e-12, atol=0)

    # one SGD step gives the same weights
    for m in (model, ref):
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        opt.step()
    for (n, p), (_, q) in zip(model.named_parameters(),
                              ref.named_parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-12)


def test_bas_loss_sends_no_gradient_into_f2_and_classifier():
    model, x, data_samples, cls = mixed_setup('wsol-single')
    model.class_sampler = lambda mh, first: torch.tensor(cls)
    losses = model.loss(x, data_samples)
    assert losses['loss_bas'].requires_grad
    losses['loss_bas'].backward()
    for name, p in model.named_parameters():
        if name.startswith(('backbone.layer2', 'head.classifier')):
            assert p.grad is None or not p.grad.any(), name
    assert model.head.generator.weight.grad.abs().sum() > 0
    assert model.backbone.layer1[0].weight.grad.abs().sum() > 0


def test_all_clamped_gives_no_bas_gradient():
    model, x, data_samples, cls = mixed_setup('wsol-single')
    model.class_sampler = lambda mh, first: torch.tensor(cls)
    # a huge positive bias on the erased class scores clamps every entry
    orig = model.erased_forward

    def shifted(erased):
        return orig(erased) + 1e6

    model.erased_forward = shifted
    losses = model.loss(x, data_samples)
    assert losses['loss_bas'].item() == pytest.approx(1.0)
    if losses['loss_bas'].requires_grad:
        losses['loss_bas'].backward()
    for p in model.parameters():
        assert p.grad is None or not p.grad.any()


def test_multilabel_class_sampler():
    model = build_bas('wsss', True, seed=123)
    mh = torch.zeros(6, C)
    mh[0, [1, 3]] = 1
    mh[1, 0] = 1
    mh[2, [0, 2, 4]] = 1
    mh[3:, :] = 1
    first = torch.zeros(6, dtype=torch.long)
    draws = torch.stack([model._choose_classes(mh, first) for _ in range(200)])
    assert mh.gather(1, draws.t()).all()  # always a positive class
    assert set(draws[:, 0].tolist()) == {1, 3}
    assert set(draws[:, 2].tolist()) == {0, 2, 4}
    assert set(draws[:, 3].tolist()) == set(range(C))
    assert (draws[:, 1] == 0).all()
    # same seed, same sequence; different seed, different sequence
    again = build_bas('wsss', True, seed=123)
    other = build_bas('wsss', True, seed=7)
    d2 = torch.stack([again._choose_classes(mh, first) for _ in range(200)])
    d3 = torch.stack([other._choose_classes(mh, first) for _ in range(200)])
    assert torch.equal(draws, d2) and not torch.equal(draws, d3)
    # seed defaults to torch's initial seed (set by the runner)
    torch.manual_seed(42)
    assert build_bas('wsss', True, seed=None).seed == 42
    # single-label: the gt class
    single = build_bas('wsol', False)
    assert torch.equal(
        single._choose_classes(torch.zeros(2, C), torch.tensor([3, 1])),
        torch.tensor([3, 1]))


def test_class_injection_is_used():
    model, x, data_samples, _ = mixed_setup('wsss-multi')
    seen = {}

    def sampler(mh, first):
        seen['mh'] = mh.clone()
        return torch.tensor([1, 0, 4, 4])

    model.class_sampler = sampler
    ref = copy.deepcopy(model)
    fast = model.loss(x, data_samples)
    slow = reference_bas_losses(ref, x, data_samples, [1, 0, 4, 4])
    torch.testing.assert_close(fast['loss_frg'], slow['loss_frg'])
    torch.testing.assert_close(fast['loss_area'], slow['loss_area'])
    assert seen['mh'][2, [1, 2, 4]].eq(1).all() and seen['mh'][2].sum() == 3


def test_bf16_autocast_training_step():
    torch.manual_seed(0)
    model = build_bas('wsss', True)
    x = torch.randn(2, 3, 32, 32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(x, samples([[0, 1], [2]]))
    for k in LOSS_KEYS:
        assert losses[k].dtype == torch.float32, k
        assert torch.isfinite(losses[k])
    sum(losses[k] for k in LOSS_KEYS).backward()
    assert model.head.generator.weight.grad is not None


def test_optim_wrapper_paramwise_and_bf16_train_step():
    torch.manual_seed(0)
    model = build_bas(
        'wsol',
        False,
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            size=(32, 32)))
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True),
            # mmengine lets a matching custom key override bias_lr_mult, so
            # the 2x bias rate of the head needs its own key ('bias' sorts
            # before 'head'; 'backbone' is longer and wins for the backbone)
            paramwise_cfg=dict(
                custom_keys={
                    'backbone': dict(lr_mult=0.1),
                    'head': dict(lr_mult=1.0),
                    'bias': dict(lr_mult=2.0)
                },
                bias_lr_mult=2.0)))
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lrs[id(p)] = group['lr']
    named = dict(model.named_parameters())
    assert lrs[id(named['backbone.layer1.0.weight'])] == pytest.approx(1e-3)
    assert lrs[id(named['head.generator.weight'])] == pytest.approx(1e-2)
    assert lrs[id(named['head.generator.bias'])] == pytest.approx(2e-2)
    assert lrs[id(named['head.classifier.0.bias'])] == pytest.approx(2e-2)
    data = dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)] * 2,
        data_samples=samples([[1], [2]]))
    # mmengine 0.10.7's AmpOptimWrapper refuses CPUs; its optim_context is
    # a bf16 autocast, reproduced here
    with torch.autocast('cpu', dtype=torch.bfloat16):
        log = model.train_step(data, wrapper)
    for k in LOSS_KEYS + ('acc', 'bg_ratio', 'loss'):
        assert k in log


def test_channels_last_gives_same_losses():
    torch.manual_seed(0)
    model = build_bas('wsol', False).double()
    cl = copy.deepcopy(model)
    cl.channels_last = True
    cl.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    a = model.loss(x, samples([[1], [2]]))
    b = cl.loss(x, samples([[1], [2]]))
    for k in LOSS_KEYS:
        torch.testing.assert_close(a[k], b[k])
    built = build_bas('wsol', False, channels_last=True)
    assert built.head.generator.weight.is_contiguous(
        memory_format=torch.channels_last)


def test_bad_inputs():
    model = build_bas('wsss', True)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(
            ValueError, match='img_1.jpg.*no positive|'
            'no positive.*img_1.jpg'):
        model.loss(x, samples([[0], []]))
    with pytest.raises(ValueError, match='img_0.jpg'):
        model.loss(x, samples([[C], [1]]))
    with pytest.raises(ValueError, match='num_classes'):
        model.loss(x, samples([[0], [1]], classes=('a', 'b')))
    with pytest.raises(ValueError, match='num_classes'):
        model.dataset_meta = dict(classes=('a', ) * (C + 1))
    model.dataset_meta = dict(classes=('a', ) * C)
    with pytest.raises(ValueError, match=r'\(2, 3, 2, 2\).*minimum'):
        model.loss(torch.randn(2, 3, 2, 2), samples([[0], [1]]))
    single = build_bas('wsol', False)
    with pytest.raises(ValueError, match='img_0.jpg'):
        single.loss(x, samples([[0, 1], [1]]))
    # without a declared minimum, the backbone failure is turned into a
    # ValueError naming the input shape
    single.min_input_size = None
    with pytest.raises(ValueError, match=r'\(2, 3, 1, 1\)'):
        single.loss(torch.randn(2, 3, 1, 1), samples([[0], [1]]))


def test_predict_wsol():
    torch.manual_seed(0)
    model = build_bas('wsol', False, test_cfg=dict(topk=2)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model.predict(x, samples([[1], [2]]))
        maps, cam, score = model._forward(x)
    assert maps.shape == (2, C, 8, 8) and cam.shape == (2, C, 4, 4)
    for i, ds in enumerate(out):
        assert ds.pred_score.shape == (C, )
        assert ds.pred_score.sum().item() == pytest.approx(1., 1e-5)
        assert ds.pred_loc_map.shape == (32, 32)
        assert ds.pred_loc_map.min() >= 0 and ds.pred_loc_map.max() <= 1
        top = score[i].topk(2).indices
        assert torch.equal(ds.pred_classes, top)
        fused = maps[i, top].mean(0)
        fused = (fused - fused.min()) / (fused.max() - fused.min() + 1e-5)
        expect = torch.nn.functional.interpolate(
            fused[None, None],
            size=(32, 32),
            mode='bilinear',
            align_corners=False)[0, 0]
        torch.testing.assert_close(ds.pred_loc_map, expect)
    model.test_cfg['gt_known'] = True
    with torch.no_grad():
        out = model.predict(x, samples([[1], [2]]))
    assert out[1].pred_classes.tolist() == [2]


def test_predict_wsss():
    torch.manual_seed(0)
    model = build_bas('wsss', True, test_cfg=dict(bg_threshold=0.3)).eval()
    x = torch.randn(2, 3, 32, 32)
    data_samples = samples([[1, 3], [0]])
    data_samples[0].set_metainfo(dict(ori_shape=(40, 48)))
    with torch.no_grad():
        out = model.predict(x, data_samples)
    seg = out[0].seg_logits.data
    assert seg.shape == (C + 1, 40, 48)
    assert torch.all(seg[0] == 0.3)
    assert torch.all(seg[[1, 3, 5]] == 0)  # non-GT classes
    assert seg[[2, 4]].max() <= 1 and seg[[2, 4]].max() > 0.99
    assert set(out[0].pred_sem_seg.data.unique().tolist()) <= {0, 2, 4}
    assert out[0].loc_maps.shape == (C, 40, 48)
    assert out[1].pred_sem_seg.data.shape == (1, 32, 32)
    assert out[1].pred_loc_map.shape == (32, 32)
