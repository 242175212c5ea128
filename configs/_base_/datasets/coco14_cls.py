# MS-COCO 2014 with image-level labels (BAS WSSS). Seed evaluation needs
# 81-class PNGs (0 background, k+1 = class k) made by the COCO converter.
dataset_type = 'COCOClsDataset'
data_root = 'data/coco'
crop_size = (448, 448)
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='WSOLRandomCrop', crop_size=crop_size),
    dict(type='PackBASInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='PackBASInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img_path='train2014'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
