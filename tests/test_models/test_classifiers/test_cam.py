# Copyright (c) mmbas contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.testing.bas_reference import register_tiny_backbone

BACKBONE = register_tiny_backbone()


def _samples(labels):
    out = []
    for i, lab in enumerate(labels):
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'img_{i}.jpg',
                img_shape=(32, 32),
                ori_shape=(32, 32)))
        ds.set_data(dict(gt_label=torch.tensor(lab)))
        out.append(ds)
    return out


@pytest.mark.parametrize('variant,multi_label', [('wsol', False),
                                                 ('wsss', True)])
def test_cam_model(variant, multi_label):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='CAM',
            backbone=dict(type=BACKBONE, f2_pool=(variant == 'wsol')),
            head=dict(
                type='CAMHead',
                num_classes=4,
                variant=variant,
                hidden_channels=12,
                loss_cls=dict(type='MultiLabelPosNegLoss'
                              if multi_label else 'BASCrossEntropyLoss')),
            multi_label=multi_label))
    x = torch.randn(2, 3, 32, 32)
    labels = [[1, 2], [3]] if multi_label else [[1], [3]]
    losses = model.loss(x, _samples(labels))
    assert set(losses) == {'loss_cls', 'acc'}
    cam, score = model._forward(x)
    if not multi_label:
        expected = F.cross_entropy(score, torch.tensor([1, 3]))
        torch.testing.assert_close(losses['loss_cls'], expected)
    model.eval()
    with torch.no_grad():
        out = model.predict(x, _samples(labels))
    if variant == 'wsol':
        assert out[0].pred_loc_map.shape == (32, 32)
    else:
        assert out[0].seg_logits.data.shape == (5, 32, 32)
        assert torch.all(out[0].loc_maps[[0, 3]] == 0)
