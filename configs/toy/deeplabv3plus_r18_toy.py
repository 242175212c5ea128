# configs/deeplab/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-pseudo-512x512.py
# (mmseg's stock DeepLabV3+ on the pseudo masks of trainaug) shrunk for a
# CPU: ResNetV1c-18 (random init, no download), thin heads, plain BN, 64x64
# crops, batch 4 and a short schedule. The pipeline points seg_map_path at
# its export folder. Used by the pseudo-mask check tests; it exercises the
# mechanics only: on the toy pseudo masks it predicts background everywhere.
# The stage 3 of the toy end-to-end run is configs/toy/deeplabv2_r18_e2e.py.
_base_ = [
    '../deeplab/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-pseudo-512x512.py'
]
data_root = 'data/toy/VOCdevkit/VOC2012'
crop_size = (64, 64)
max_iters = 60
ckpt_interval = 30
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(
        in_channels=512,
        channels=64,
        c1_in_channels=64,
        c1_channels=16,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=32, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(96, 96),
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.02))
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
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=ckpt_interval, max_keep_ckpts=2),
    visualization=dict(draw=False))
randomness = dict(seed=0, deterministic=False)
