# Copyright (c) mmbas contributors. All rights reserved.
import numpy as np
import torch
from mmengine.config import Config

import mmbas  # noqa: F401
from mmbas.apis import init_model, localize

CFG = dict(
    default_scope='mmseg',
    box_threshold=0.1,
    model=dict(
        type='BAS',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255),
        backbone=dict(
            type='WSOLResNet',
            depth=18,
            init_cfg=dict(type='Pretrained', checkpoint='x.pth')),
        head=dict(
            type='BASHead',
            variant='wsol',
            hidden_channels=8,
            num_classes=3,
            loss_cls=dict(type='BASCrossEntropyLoss'),
            loss_frg=dict(type='ForegroundGuidanceLoss'),
            loss_bas=dict(type='BASLoss'),
            loss_area=dict(type='AreaLoss')),
        test_cfg=dict(topk=1)),
    test_dataloader=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadWSOLAnnotations'),
            dict(type='Resize', scale=(64, 64), keep_ratio=False),
            dict(type='WSOLCenterCrop', crop_size=56),
            dict(type='PackBASInputs')
        ])))


def test_init_model_and_localize(tmp_path):
    cfg = Config(CFG)
    torch.manual_seed(0)
    from mmseg.registry import MODELS
    src = MODELS.build(
        dict(cfg.model, backbone=dict(cfg.model.backbone, init_cfg=None)))
    ckpt = str(tmp_path / 'm.pth')
    torch.save({'state_dict': src.state_dict(), 'meta': {}}, ckpt)
    model = init_model(cfg, ckpt, device='cpu')
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)

    img = np.random.default_rng(0).integers(0, 255, (90, 70, 3), np.uint8)
    out = localize(model, img)
    assert out['map'].shape == (90, 70) and out['map'].dtype == np.float32
    assert out['scores'].shape == (3, )
    assert out['label'] == int(out['scores'].argmax())
    x0, y0, x1, y1 = out['box'].tolist()
    assert 0 <= x0 < x1 <= 70 and 0 <= y0 < y1 <= 90
    # the 64 -> crop 56 centre crop leaves a border of 4 resized pixels
    assert out['map'][:3].max() == 0 and out['map'].max() > 0.5

    import mmcv
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(img, path)
    out2 = localize(model, path)
    np.testing.assert_allclose(out2['scores'], out['scores'], rtol=1e-5)
