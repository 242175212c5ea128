# CUB-200-2011 (WSOL). Official split: train 5,994 / test 5,794;
# wsolevaluation CUBV2: add metadata_root='../metadata/CUB' (split val/test).
dataset_type = 'CUBDataset'
data_root = 'data/CUB_200_2011'
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
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='WSOLCenterCrop', crop_size=224),
    dict(type='PackBASInputs')
]
# field-standard protocol (wsolevaluation): resize 224x224, no crop
official_test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='PackBASInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
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
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
