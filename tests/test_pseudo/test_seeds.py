# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmbas  # noqa: F401
from mmbas.pseudo import (SeedRecipe, crop_valid, fuse_maps, gt_classes,
                          multiscale_maps, normalise_class_maps, scaled_size,
                          seed_labels, seed_logits, select_classes,
                          to_original, valid_region)


def multiscale_seed_maps(model,
                         x,
                         labels,
                         scales=(1.0, 0.5, 1.5, 2.0),
                         flip=True):
    return normalise_class_maps(
        multiscale_maps(model, x, scales, flip), labels)


class StubMaps(nn.Module):
    """forward_maps: stride-4 avg pool + fixed conv + sigmoid; counts calls
    and batch sizes."""

    def __init__(self, c=5):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.calls = []

    num_classes = 5

    def forward_maps(self, x, with_scores=True):
        self.calls.append(tuple(x.shape))
        m = torch.sigmoid(self.conv(F.avg_pool2d(x, 4, ceil_mode=True)))
        return m, (m.mean((2, 3)) if with_scores else None)


def slow_maps(model, x, scales, flip):
    """Reference: one forward per scale and per flip, one image at a time."""
    h, w = x.shape[-2:]
    total = 0
    for s in scales:
        size = scaled_size((h, w), s)
        xs = x if size == (h, w) else F.interpolate(
            x, size=size, mode='bilinear', align_corners=False)
        for f in ([False, True] if flip else [False]):
            inp = xs.flip(-1) if f else xs
            m, _ = model.forward_maps(inp)
            m = F.interpolate(
                m, size=(h, w), mode='bilinear', align_corners=False)
            total = total + (m.flip(-1) if f else m)
    return total


@pytest.mark.parametrize('flip', [True, False])
def test_multiscale_equals_loop(flip):
    model = StubMaps()
    x = torch.randn(1, 3, 37, 50)
    scales = (1.0, 0.5, 1.5, 2.0)
    fast = multiscale_maps(model, x, scales, flip)
    # one batch of 2 (image + flip) per scale
    assert [c[0] for c in model.calls] == [2 if flip else 1] * 4
    assert model.calls[1][-2:] == scaled_size((37, 50), 0.5)
    ref = slow_maps(model, x, scales, flip)
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=1e-6)
    # seeds: restricted to the classes, max-normalised
    seeds = multiscale_seed_maps(model, x, torch.tensor([3, 1]), scales, flip)
    exp = ref.clone()
    exp[:, [0, 2, 4]] = 0
    exp = exp / (exp.amax((2, 3), keepdim=True) + 1e-5)
    torch.testing.assert_close(seeds, exp, rtol=1e-5, atol=1e-6)
    assert seeds[0, [0, 2, 4]].abs().sum() == 0
    assert seeds[0, 1].max() < 1 and seeds[0, 1].max() > 0.9999


def test_batch_and_padded_batch():
    model = StubMaps()
    x = torch.randn(2, 3, 32, 40)
    both = multiscale_seed_maps(model, x, [[0], [2, 4]])
    for i, lab in enumerate([[0], [2, 4]]):
        one = multiscale_seed_maps(model, x[i:i + 1], lab)
        torch.testing.assert_close(both[i], one[0], rtol=1e-5, atol=1e-6)
    # bool multi-hot labels
    mh = torch.zeros(2, 5, dtype=torch.bool)
    mh[0, 0] = mh[1, 2] = mh[1, 4] = True
    torch.testing.assert_close(multiscale_seed_maps(model, x, mh), both)
    with pytest.raises(ValueError, match='out of range'):
        multiscale_seed_maps(model, x[:1], [7])


def test_scores_and_fusion():
    model = StubMaps()
    x = torch.randn(1, 3, 24, 24)
    maps, scores = multiscale_maps(
        model, x, (1.0, 0.5), True, return_scores=True)
    assert scores.shape == (1, 5)
    a = torch.rand(1, 5, 6, 7) * 3
    b = torch.rand(1, 5, 6, 7) * 0.2
    lab = [[1, 2]]
    fused = fuse_maps(a, b, lab)
    na = a / (a.amax((2, 3), keepdim=True) + 1e-5)
    nb = b / (b.amax((2, 3), keepdim=True) + 1e-5)
    s = na + nb
    exp = s / (s.amax((2, 3), keepdim=True) + 1e-5)
    exp[:, [0, 3, 4]] = 0
    torch.testing.assert_close(fused, exp)
    # normalise: (C, H, W) input, no labels keeps all
    n = normalise_class_maps(a[0])
    assert n.shape == (5, 6, 7) and (n.amax((1, 2)) > 0.999).all()


def _sample(lab=None, **meta):
    from mmseg.structures import SegDataSample
    ds = SegDataSample(metainfo=meta)
    if lab is not None:
        ds.set_data(dict(gt_label=torch.tensor(lab)))
    return ds


def test_valid_region_and_original():
    x = torch.arange(2 * 6 * 8.).reshape(2, 6, 8)
    meta = dict(img_shape=(4, 5))
    assert valid_region(meta, (6, 8)) == (0, 4, 0, 5)
    assert crop_valid(x, meta).shape == (2, 4, 5)
    # mmseg's padding_size is (left, right, top, bottom)
    assert valid_region(dict(padding_size=(1, 2, 0, 3)), (6, 8)) == \
        (0, 3, 1, 6)
    torch.testing.assert_close(
        crop_valid(x, dict(padding_size=(1, 2, 0, 3))), x[:, 0:3, 1:6])
    flipped = to_original(x, dict(flip=True, flip_direction='horizontal'))
    torch.testing.assert_close(flipped, x.flip(2))
    up = to_original(x, dict(ori_shape=(12, 16)))
    assert up.shape == (2, 12, 16)


def test_class_selection_and_labels():
    score = torch.tensor([0.1, -1., 2., 0.])
    assert select_classes(score).tolist() == [0, 2]
    assert select_classes(score, score_thr=5.).tolist() == [2]
    assert select_classes(None, torch.tensor([3])).tolist() == [3]
    with pytest.raises(ValueError, match='scores'):
        select_classes(None, None)
    assert gt_classes(_sample(), 4) is None
    assert gt_classes(_sample([2, 0, 2]), 4).tolist() == [0, 2]
    with pytest.raises(ValueError, match='out of range.*a.jpg'):
        gt_classes(_sample([4], img_path='a.jpg'), 4)
    maps = torch.tensor([[[0.1, 0.2, 0.5, 0.9]], [[0.0, 0.3, 0.3, 0.2]]])
    logits = seed_logits(maps, 0.25)
    assert logits.shape == (3, 1, 4) and (logits[0] == 0.25).all()
    # argmax: ties to the background, then the lower class
    assert seed_labels(logits).tolist() == [[[0, 2, 1, 1]]]
    # uncertain band (0.25, 0.6) -> 255
    assert seed_labels(logits, 0.6).tolist() == [[[0, 255, 255, 1]]]
    with pytest.raises(ValueError, match='below'):
        seed_labels(logits, 0.1)
    with pytest.raises(ValueError, match='below'):
        SeedRecipe(bg_threshold=0.3, fg_threshold=0.2)


def test_recipe_padded_batch_equals_single_images():
    model = StubMaps()
    x = torch.randn(2, 3, 32, 40)
    samples = [
        _sample([0], img_shape=(32, 40), ori_shape=(32, 40)),
        _sample([2, 4], img_shape=(20, 28), ori_shape=(40, 56))
    ]
    recipe = SeedRecipe(scales=(1.0, 0.5), bg_threshold=0.3)
    out = recipe.predict(model, x, samples, 5)
    # sample 1 ran alone on its valid crop, then went to ori_shape
    ref = normalise_class_maps(
        to_original(
            multiscale_maps(model, x[1:, :, :20, :28], (1.0, 0.5))[0],
            dict(ori_shape=(40, 56))), [[2, 4]])
    torch.testing.assert_close(out[1].loc_maps, ref)
    assert out[1].seg_logits.shape == (40, 56)
    assert out[0].loc_maps.shape == (5, 32, 40)
    assert 'pred_score' not in out[0]  # GT classes: no scores needed
    torch.testing.assert_close(out[0].pred_sem_seg.data,
                               seed_labels(seed_logits(out[0].loc_maps, 0.3)))
    # without gt_label the classes come from the mean scores
    out = recipe.predict(model, x[:1], [_sample(img_shape=(32, 40))], 5)
    assert out[0].pred_score.shape == (5, )
    assert out[0].pred_classes.tolist() == select_classes(
        out[0].pred_score).tolist()


def test_bas_maps_without_scores_equal_forward_maps():
    from mmseg.registry import MODELS

    from mmbas.testing.bas_reference import register_tiny_backbone
    backbone = register_tiny_backbone()
    torch.manual_seed(0)
    bas = MODELS.build(
        dict(
            type='BAS',
            multi_label=True,
            backbone=dict(type=backbone, f2_pool=False),
            head=dict(
                type='BASHead',
                num_classes=5,
                variant='wsss',
                loss_cls=dict(type='MultiLabelPosNegLoss')))).eval()
    x = torch.randn(2, 3, 32, 24)
    with torch.no_grad():
        fast, none = bas.forward_maps(x, with_scores=False)
        full, score = bas.forward_maps(x)
    assert none is None and score.shape == (2, 5)
    torch.testing.assert_close(fast, full)
