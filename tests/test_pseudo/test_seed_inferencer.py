# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict
from mmseg.evaluation import IoUMetric
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.evaluation.metrics import SeedSweepMetric
from mmbas.pseudo import (crf_available, fuse_maps, multiscale_maps,
                          normalise_class_maps)
from mmbas.testing.bas_reference import register_tiny_backbone

BACKBONE = register_tiny_backbone()
C = 5
PRE = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)


def bas_cfg(kind='BAS'):
    head = dict(
        type='BASHead' if kind == 'BAS' else 'CAMHead',
        num_classes=C,
        variant='wsss',
        loss_cls=dict(type='MultiLabelPosNegLoss'))
    return dict(
        type=kind,
        data_preprocessor=PRE,
        multi_label=True,
        backbone=dict(type=BACKBONE, f2_pool=False),
        head=head)


def batch(labels, shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i, (lab, (h, w)) in enumerate(zip(labels, shapes)):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        ds = SegDataSample(
            metainfo=dict(
                img_path=f'{i}.jpg', img_shape=(h, w), ori_shape=(h, w)))
        ds.set_data(dict(gt_label=torch.tensor(lab)))
        ds.gt_sem_seg = __import__('mmengine').structures.PixelData(
            data=torch.randint(0, C + 1, (1, h, w), generator=g))
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def test_seed_inferencer_matches_multiscale_and_metrics():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='SeedInferencer',
            module=bas_cfg(),
            scales=[1.0, 0.5, 1.5],
            bg_threshold=0.3))
    model.eval()
    data = batch([[1, 3]], [(40, 48)])
    out = model.test_step(data)[0]
    x = model.module.data_preprocessor(data, False)['inputs']
    ref = normalise_class_maps(
        multiscale_maps(model.module, x, [1.0, 0.5, 1.5]), [[1, 3]])[0]
    torch.testing.assert_close(out.loc_maps, ref)
    assert out.seg_logits.data.shape == (C + 1, 40, 48)
    assert (out.seg_logits.data[0] == 0.3).all()
    torch.testing.assert_close(out.pred_sem_seg.data,
                               out.seg_logits.data.argmax(0, keepdim=True))
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 2, 4}
    # sweep metric at 0.3 == IoUMetric on pred_sem_seg
    iou, sweep = IoUMetric(), SeedSweepMetric(thresholds=[0.2, 0.3])
    meta = dict(classes=tuple(str(i) for i in range(C + 1)))
    iou.dataset_meta = sweep.dataset_meta = meta
    iou.process({}, [out.to_dict()])
    sweep.process({}, [out.to_dict()])
    assert sweep.compute_metrics(sweep.results)['mIoU@0.30'] == \
        pytest.approx(iou.compute_metrics(iou.results)['mIoU'])


def test_fusion_ori_shape_and_checkpoint(tmp_path):
    torch.manual_seed(0)
    bas = MODELS.build(bas_cfg())
    cam = MODELS.build(bas_cfg('CAM'))
    ckpt = tmp_path / 'cam.pth'
    # as tools/train.py writes it: mmengine objects beside the weights
    from mmengine.logging import HistoryBuffer
    torch.save(
        dict(
            state_dict=cam.state_dict(),
            message_hub=dict(log_scalars=dict(loss=HistoryBuffer()))), ckpt)
    model = MODELS.build(
        dict(
            type='SeedInferencer',
            module=bas_cfg(),
            cam_module=bas_cfg('CAM'),
            cam_checkpoint=str(ckpt),
            scales=[1.0]))
    # a bare BAS checkpoint loads onto the wrapper's module
    load_state_dict(model, bas.state_dict(), strict=True)
    for k, v in bas.state_dict().items():
        torch.testing.assert_close(model.module.state_dict()[k], v)
    model.eval()
    data = batch([[0]], [(32, 32)])
    data['data_samples'][0].set_metainfo(dict(ori_shape=(50, 40)))
    out = model.test_step(data)[0]
    assert out.loc_maps.shape == (C, 50, 40)
    x = model.module.data_preprocessor(data, False)['inputs']
    import torch.nn.functional as F

    def up(m):
        return F.interpolate(
            m, size=(50, 40), mode='bilinear', align_corners=False)

    bas.eval(), cam.eval()
    ref = fuse_maps(
        up(multiscale_maps(bas, x, [1.0])), up(multiscale_maps(cam, x, [1.0])),
        [[0]])[0]
    torch.testing.assert_close(out.loc_maps, ref)


@pytest.mark.skipif(not crf_available(), reason='pydensecrf2 missing')
def test_dense_crf(tmp_path):
    import mmcv

    from mmbas.pseudo import dense_crf
    img = np.zeros((30, 40, 3), np.uint8)
    img[:, 20:] = 255
    labels = np.zeros((30, 40), np.int64)
    labels[:, 18:] = 1  # slightly misaligned with the edge
    q = dense_crf(img, labels=labels, n_labels=2)
    assert q.shape == (2, 30, 40)
    np.testing.assert_allclose(q.sum(0), 1, atol=1e-4)
    assert (q.argmax(0)[:, 20:] == 1).all() and (q.argmax(0)[:, :17]
                                                 == 0).all()
    q2 = dense_crf(img, probs=np.stack([1 - labels, labels]).astype(float))
    assert q2.shape == (2, 30, 40)
    # in the inferencer
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(img, path)
    model = MODELS.build(
        dict(
            type='SeedInferencer',
            module=bas_cfg(),
            scales=[1.0],
            crf=dict(type='dense_crf')))
    model.eval()
    data = batch([[2]], [(30, 40)])
    data['data_samples'][0].set_metainfo(dict(img_path=path))
    out = model.test_step(data)[0]
    assert out.pred_sem_seg.data.shape == (1, 30, 40)
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 3}
    assert 'seed_sem_seg' in out
