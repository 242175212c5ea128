# Stage 3 of BAS WSSS on MS-COCO 2014, the paper's protocol: DeepLabV2
# (ImageNet ResNet-101 at output stride 8, ASPPV2Head) trained on the pseudo
# masks of train2014 (ImageSets/train2014.txt: the images with at least one
# annotation; masks in SegmentationClassPseudo/train2014/, named by image
# file stem as tools/export_pseudo_labels.py writes them), validated on
# val2014 (81 classes, SegmentationClass/val2014 from
# tools/dataset_converters/coco2014.py). Published: 45.1 val mIoU.
# Same recipe as the VOC config (see
# deeplabv2_r101_1xb10-20k_voc12aug-pseudo-321x321.py)
# with 81 classes. COCO has 8x the images of VOC train_aug: WSSS works often
# train longer on COCO (e.g. --cfg-options train_cfg.max_iters=100000
# param_scheduler.0.end=100000).
_base_ = ['./deeplabv2_r101_1xb10-20k_voc12aug-pseudo-321x321.py']

data_root = 'data/coco'
pseudo_seg_map_path = 'SegmentationClassPseudo/train2014'
num_classes = 81

model = dict(decode_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # COCO images are at most 640 px: scale factor 0.5..1.5 of the original
    dict(
        type='RandomResize',
        scale=(640, 640),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='COCO2014SegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='train2014', seg_map_path=pseudo_seg_map_path),
        ann_file='ImageSets/train2014.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='COCO2014SegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val2014.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
