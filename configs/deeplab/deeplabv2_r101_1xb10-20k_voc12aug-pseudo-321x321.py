# Stage 3 of BAS WSSS on PASCAL VOC 2012, the paper's protocol: DeepLabV2
# (ResNet-101, ASPP-L head) trained on the exported pseudo masks of
# train_aug (10,582 images, ImageSets/Segmentation/trainaug.txt, masks in
# SegmentationClassPseudo/), validated on the real val masks (1,449,
# SegmentationClass). Published: 69.6 val mIoU (docs/method.md section 6).
#
# Built on mmseg's stock DeepLabV3+ VOC config (runtime, VOC datasets,
# evaluator); what changes, and why:
# * backbone: plain ResNet-101 (v1b, torchvision layout) at output stride 8
#   (strides (1, 2, 1, 1), dilations (1, 1, 2, 4), as mmseg's -d8 configs),
#   initialised from ImageNet (torchvision://resnet101): the WSSS protocol
#   uses an ImageNet-pretrained ResNet-101 (no COCO pretraining).
#   BatchNorm frozen (statistics and affine), as DeepLab-v2, whose batch of
#   10 is too small to train BN.
# * decode head: ASPPV2Head (mmbas), 3x3 convs with dilations 6/12/18/24
#   mapping 2048 -> 21 directly, summed; no auxiliary head.
# * recipe (DeepLab-v2): batch 10 on one GPU, SGD momentum 0.9, weight
#   decay 5e-4, lr 2.5e-4 for the backbone and 10x (2.5e-3) for the head,
#   poly decay (power 0.9) to 0 over 20k iterations; random scale 0.5-1.5,
#   random crop 321x321, horizontal flip; no photometric distortion. Biases
#   keep the lr of their layer (Caffe DeepLab-v2 used 2x for biases).
# * test: single scale, original resolution, whole image, no CRF.
# With 2 GPUs x 5 images: tools/dist_train.sh CONFIG 2
#   --cfg-options train_dataloader.batch_size=5
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]
custom_imports = dict(imports=['mmbas'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/VOC2012'
pseudo_seg_map_path = 'SegmentationClassPseudo'
num_classes = 21  # background + 20
crop_size = (321, 321)
max_iters = 20000
norm_cfg = dict(type='BN', requires_grad=False)

model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='torchvision://resnet101',
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        _delete_=True,
        type='ASPPV2Head',
        in_channels=2048,
        in_index=0,
        num_classes=num_classes,
        dilations=(6, 12, 18, 24),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # VOC images are at most 500 px: scale factor 0.5..1.5 of the original
    dict(
        type='RandomResize',
        scale=(500, 500),
        ratio_range=(0.5, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=10,
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path=pseudo_seg_map_path),
        ann_file='ImageSets/Segmentation/trainaug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
