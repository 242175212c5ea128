# configs/irn/irn_r50_1xb32-3e_voc12aug-512x512.py shrunk for a CPU: IRN on
# the toy VOC layout (tools/misc/make_toy_data.py --out data/toy) with a
# random-init ResNet-18 (no download), 64x64 crops, batch 4 and a 4-step
# iteration-based schedule. The relation labels are the toy GT masks,
# SegmentationClassAug/<id>.png (0 background, class + 1, 255 on a band
# along the object boundaries): the label map make_relation_labels gives
# for perfect seeds, with the band as the unknown zone. Exercises the
# mechanics; used by tests/test_models/test_segmentors/test_irn.py.
_base_ = ['../irn/irn_r50_1xb32-3e_voc12aug-512x512.py']

data_root = 'data/toy/VOCdevkit/VOC2012'
relation_label_dir = 'SegmentationClassAug'
crop_size = (64, 64)
max_iters = 4
stage_channels = (64, 64, 128, 256, 512)  # ResNet-18 stem, layer1..4

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, init_cfg=None),
    boundary_head=dict(in_channels=stage_channels),
    displacement_head=dict(in_channels=stage_channels))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(96, 96),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path=relation_label_dir),
        pipeline=train_pipeline))

param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
