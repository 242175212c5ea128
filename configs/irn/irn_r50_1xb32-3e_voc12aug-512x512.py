# IRN (Ahn et al., CVPR 2019), the refinement network of BAS's published
# WSSS masks (docs/method.md section 4), on PASCAL VOC 2012 train_aug (10,582
# images, ImageSets/Segmentation/trainaug.txt). Trained on the relation labels
# of the seeds (mmbas.pseudo.make_relation_labels: fg 0.30 / bg 0.17 + dense
# CRF; uint8 PNGs, 0 background, class + 1, 255 unknown), written by the
# pseudo-mask stage to RelationLabels/<id>.png.
#
# Model (IRN's step/train_irn.py): ImageNet ResNet-50 with strides
# (1, 2, 2, 1), frozen (no gradient, BN in eval mode, features detached);
# the boundary branch (5 x [1x1 conv 32 + GN 4], stride 4, 1x1 conv -> 1)
# and the displacement branch (IRNDisplacementHead); the affinity loss on
# the pixel pairs within radius 5 of the stride-4 grid (the radius of
# docs/method.md section 4;
# IRN's train_irn.py builds its training pairs with radius 10, set
# pair_radius = 10 to follow it).
#
# Recipe (IRN): 3 epochs, batch 32 on one GPU, crop 512; SGD lr 0.1 for the
# boundary branch and 10x (1.0) for the displacement branch, weight decay
# 1e-4, no momentum, poly decay (power 0.9) to 0 over the real number of
# iterations (drop_last: 330 per epoch). IRN's PolyOptimizer hands its
# weight decay to SGD's momentum argument (momentum 1e-4, i.e. none) and
# sets the decay per group: plain SGD without momentum is the same update.
# Augmentation: random rescale 0.5-1.5 (mmseg's RandomResize of the long
# side to 500 x ratio: VOC images are at most 500 px, so this is IRN's
# scale factor for the usual 500 px side), horizontal flip, normalise, crop
# 512 (images smaller than the crop are padded with 0 after normalisation,
# labels with 255, by the data preprocessor).
#
# Train: python tools/train.py configs/irn/irn_r50_1xb32-3e_voc12aug-512x512.py
# The checkpoint's predict() gives the stride-4 boundary map and
# displacement field of each image (pred_boundary, pred_displacement) for
# the random walk.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/VOCdevkit/VOC2012'
relation_label_dir = 'RelationLabels'
crop_size = (512, 512)
max_epochs = 3
pair_radius = 5
stage_channels = (64, 256, 512, 1024, 2048)  # ResNet-50 stem, layer1..4

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='IRN',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='IRNResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    boundary_head=dict(
        type='IRNBoundaryHead',
        in_channels=stage_channels,
        channels=32,
        num_groups=4),
    displacement_head=dict(
        type='IRNDisplacementHead', in_channels=stage_channels),
    loss=dict(type='AffinityLoss', radius=pair_radius),
    freeze_backbone=True,
    test_cfg=dict(flip=True))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(500, 500),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs')
]
# inference for the random walk: whole image at scale 1.0 (IRN)
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='PascalVOCDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path=relation_label_dir),
        ann_file='ImageSets/Segmentation/trainaug.txt',
        pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'displacement_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
