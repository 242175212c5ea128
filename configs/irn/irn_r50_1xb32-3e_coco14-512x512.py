# IRN on MS-COCO 2014 train (82,081 images, ImageSets/train2014.txt: those
# with at least one annotation), relation labels of the seeds in
# RelationLabels/train2014/<file stem>.png (81-class label space: 0
# background, k + 1 the k-th category in COCO id order, 255 unknown).
# Same model and recipe as the VOC config (3 epochs, batch 32, crop 512,
# SGD 0.1 / 1.0 displacement, poly over the real iterations: 2,565 per
# epoch); COCO images are at most 640 px, so the random rescale resizes the
# long side to 640 x 0.5..1.5.
_base_ = ['./irn_r50_1xb32-3e_voc12aug-512x512.py']

data_root = 'data/coco'
relation_label_dir = 'RelationLabels/train2014'

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(640, 640),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='COCO2014SegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='train2014', seg_map_path=relation_label_dir),
        ann_file='ImageSets/train2014.txt',
        pipeline=train_pipeline))
