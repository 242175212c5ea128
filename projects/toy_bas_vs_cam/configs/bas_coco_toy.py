# BAS on the toy COCO 2014 layout (tools/misc/make_toy_data.py --datasets coco
# --out data/toy, then tools/dataset_converters/coco2014.py data/toy/coco for
# the 81-class SegmentationClass PNGs):
# configs/bas/bas_r50_1xb16-10e_coco14-448x448.py shrunk like
# configs/toy/bas_voc_toy.py -- 96x96 crops, batch 4, random init (no
# download), a short iteration-based schedule.
# Training: train2014 (image-level labels from the instances json).
# Validation/test: the *train2014* images with SegmentationClass/train2014 --
# seeds are scored on the training images, as the toy VOC configs do with
# VOC train (the real configs/bas/bas_r50_seed-ms-flip_coco14-val.py scores
# val2014).
_base_ = ['../../../configs/bas/bas_r50_1xb16-10e_coco14-448x448.py']

data_root = 'data/toy/coco'
crop_size = (96, 96)

model = dict(
    data_preprocessor=dict(size=crop_size), backbone=dict(init_cfg=None))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=(112, 112), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='WSOLRandomCrop', crop_size=crop_size),
    dict(type='PackBASInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014')))
test_dataloader = val_dataloader

# with --cfg-options train_cfg.max_iters=N also set param_scheduler.0.end=N
# (the poly decay otherwise ends, at lr 0, after 4 steps)
max_iters = 4
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=2))
