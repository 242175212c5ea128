# PASCAL VOC 2012 with image-level labels (BAS WSSS stage 1: train on
# trainaug 10,582; seed evaluation on train 1,464 with SegmentationClass).
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
# file backend of every read (lists, annotations, images); None
# reads local files (or the backend of a URI prefix in data_root),
# e.g. dict(backend='petrel') for data on other storage
backend_args = None
crop_size = (448, 448)
train_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    # docs/method.md section 3: resize to 512x512, flip, random crop 448.
    # Aspect-preserving alternative: dict(type='RandomResize',
    #     scale=(512, 512), ratio_range=(0.6, 1.2), keep_ratio=True)
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='WSOLRandomCrop', crop_size=crop_size),
    dict(type='PackBASInputs')
]
# seed evaluation: original resolution, GT masks for IoUMetric; the model
# does the multi-scale + flip inference itself.
test_pipeline = [
    dict(type='StrictLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadWSOLAnnotations', backend_args=backend_args),
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
        backend_args=backend_args,
        ann_file='ImageSets/Segmentation/trainaug.txt',
        data_prefix=dict(img_path='JPEGImages'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        backend_args=backend_args,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
