# configs/toy/bas_voc_toy.py with a ResNet-18 WSSS backbone (F1 = layer3,
# 256 ch; F2 = layer4, 512 ch), random init, 64x64 crops and a short
# iteration-based schedule, so that a whole pipeline run takes about a minute
# on a CPU. Checkpoints every `ckpt_interval` iterations, the last one always
# (the pipeline's resume / skip logic needs them).
# Caveat: from random init BAS collapses on the toy data (the area term
# drives M_f to 0, or with a small beta to 1), so the seeds carry no
# localisation; this config exercises the mechanics, not the method. The
# toy end-to-end run (tests/test_tools/test_run_pipeline.py) starts BAS from a
# pretrained backbone: configs/toy/cam_voc_e2e_pretrain.py, bas_voc_e2e.py.
_base_ = ['./bas_voc_toy.py']

crop_size = (64, 64)
max_iters = 20
ckpt_interval = 10

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, init_cfg=None))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=(72, 72), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='WSOLRandomCrop', crop_size=crop_size),
    dict(type='PackBASInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))

param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=ckpt_interval, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
