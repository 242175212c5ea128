# OpenImages30k (wsolevaluation layout, WSOL with masks: PxAP / PIoU).
# Masks may come at another resolution than the image -> resized (nearest).
dataset_type = 'OpenImagesWSOLDataset'
data_root = 'data/OpenImages'
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='WSOLRandomCrop', crop_size=(224, 224)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackBASInputs')
]
# paper protocol (BAS tables): resize 256x256 -> centre crop 224
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadWSOLAnnotations', mask_size_mismatch='resize'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='WSOLCenterCrop', crop_size=224),
    dict(type='PackBASInputs')
]
# field-standard protocol (wsolevaluation): resize 224x224, no crop
official_test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadWSOLAnnotations', mask_size_mismatch='resize'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='PackBASInputs')
]
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        metadata_root='../metadata/OpenImages',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        metadata_root='../metadata/OpenImages',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
