# Stage 1 of the toy end-to-end pipeline
# (tests/test_tools/test_run_pipeline.py, README "Full pipeline"): BAS as
# configs/toy/bas_voc_toy.py (the WSSS recipe's alpha 0.2, beta 1.2; one
# random positive class per image and step) with the ResNet-18
# output-stride-8 backbone of
# configs/toy/cam_voc_e2e_pretrain.py, started from that pretraining
# (load_from: backbone and classifier; the generator starts from random
# init), as the toy experiment of
# projects/toy_bas_vs_cam/docs/toy_experiment.md does.
# SGD momentum 0.9, lr 0.01 for the new layers and 0.001 for the backbone
# (lr_mult 0.1), poly decay over 60 iterations, batch 8, 80x80 resize + flip +
# 64x64 crop. Checkpoints every `ckpt_interval` iterations and at the end (the
# pipeline's skip / resume logic reads them).
_base_ = ['./bas_voc_toy.py']

crop_size = (64, 64)
max_iters = 60
ckpt_interval = 30
load_from = 'work_dirs/cam_voc_e2e_pretrain/iter_150.pth'

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, strides=(1, 2, 1, 1), init_cfg=None))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=(80, 80), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='WSOLRandomCrop', crop_size=crop_size),
    dict(type='PackBASInputs')
]
# InfiniteSampler: no 2 s pause of mmengine's loop at every epoch end
train_dataloader = dict(
    batch_size=8,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
# no validation (the seed evaluation is the pipeline's next stage)
train_cfg = dict(max_iters=max_iters, val_begin=10**9, val_interval=10**9)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=ckpt_interval, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
