# Stage 3 of BAS WSSS on PASCAL VOC 2012: mmseg's stock DeepLabV3+ R101-d8
# (4 GPUs x 4 images, 20k iterations, crop 512) trained on the exported
# pseudo masks of train_aug (10,582 images) instead of the human masks,
# validated on the real VOC 2012 val masks (1,449, SegmentationClass).
#
# Only the data changes: the stock voc12aug train set is ConcatDataset(train
# with SegmentationClass, aug with SegmentationClassAug); with pseudo masks
# it is ONE dataset over ImageSets/Segmentation/trainaug.txt whose masks lie
# in SegmentationClassPseudo/ (tools/export_pseudo_labels.py --out
# data/VOCdevkit/VOC2012/SegmentationClassPseudo, or any folder: an absolute
# seg_map_path wins over data_root). Backbone: ImageNet-pretrained
# ResNetV1c-101 (open-mmlab://resnet101_v1c), as the stock config.
#   python tools/train.py \
#       configs/deeplab/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-pseudo-512x512.py
# The DeepLabV2 protocol of the paper:
# deeplabv2_r101_1xb10-20k_voc12aug-pseudo-321x321.py
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]
custom_imports = dict(imports=['mmbas'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/VOC2012'
pseudo_seg_map_path = 'SegmentationClassPseudo'
num_classes = 21  # background + 20

model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path=pseudo_seg_map_path),
        ann_file='ImageSets/Segmentation/trainaug.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt'))
test_dataloader = val_dataloader
