# Stage 3 of BAS WSSS on MS-COCO 2014: mmseg's stock DeepLabV3+ R101-d8
# recipe (4 GPUs x 4 images, 20k iterations, crop 512) with the VOC data
# swapped for COCO 2014 (81 classes = background + 80): trained on the
# exported pseudo masks of train2014 (images with at least one annotation,
# ImageSets/train2014.txt), validated on val2014 with the 81-class masks of
# tools/dataset_converters/coco2014.py (SegmentationClass/val2014).
# Export the masks with
#   tools/export_pseudo_labels.py ... \
#       --out data/coco/SegmentationClassPseudo/train2014
# (or set pseudo_seg_map_path / pass an absolute path).
# A 20k-iteration schedule is short for COCO's 82k images; WSSS papers
# train DeepLabV2 for ~100k iterations on COCO (see the DeepLabV2 config).
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]
custom_imports = dict(imports=['mmbas'], allow_failed_imports=False)

data_root = 'data/coco'
pseudo_seg_map_path = 'SegmentationClassPseudo/train2014'
num_classes = 81

model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='COCO2014SegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='train2014', seg_map_path=pseudo_seg_map_path),
        ann_file='ImageSets/train2014.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        type='COCO2014SegDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val2014.txt'))
test_dataloader = val_dataloader
