# Step 0 of the toy end-to-end pipeline (tests/test_tools/test_run_pipeline.py,
# README "Full pipeline"): backbone pretraining, the toy stand-in for the
# ImageNet weights that BAS (stage 1) and DeepLab (stage 3) start from on real
# data. From random init BAS collapses on the toy set
# (projects/toy_bas_vs_cam/docs/toy_experiment.md, environment notes), so
# both pipeline trainings load this checkpoint.
#
# A plain CAM classifier trained with image-level labels only
# (configs/toy/cam_voc_toy.py: WSSS ResNet + conv1x1 classifier, multi-label
# L_cls), with what makes it fit the CPU time of a test:
# * ResNet-18 at output stride 8 (layer3 at stride 1): 8x8 maps for the 64 px
#   crops instead of 4x4, the layout of configs/toy/bas_voc_e2e.py and
#   configs/toy/deeplabv2_r18_e2e.py;
# * AdamW, lr 1e-3 for all layers: measured on the test's data, after 200
#   steps SGD (lr 0.01) was at loss_cls 0.75 with CAM seed mIoU 22.7, AdamW
#   at 0.13 and 35.2 (all-background 17.0);
# * InfiniteSampler: with the default sampler mmengine's iteration loop
#   sleeps 2 s at every epoch end, and trainaug is 3 batches long here.
#   python tools/train.py configs/toy/cam_voc_e2e_pretrain.py
#   (-> work_dirs/cam_voc_e2e_pretrain/iter_150.pth, the default load_from of
#   the two pipeline configs)
_base_ = ['./cam_voc_toy.py']

crop_size = (64, 64)
max_iters = 150

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
train_dataloader = dict(
    batch_size=8,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
# no validation: mmengine validates after the last iteration unless val_begin
# lies beyond it
train_cfg = dict(max_iters=max_iters, val_begin=10**9, val_interval=10**9)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
