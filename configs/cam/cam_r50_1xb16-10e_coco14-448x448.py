# CAM baseline for WSSS on MS COCO 2014 train (82,081 images): the BAS WSSS
# ResNet-50
# (WSSSResNet, output stride 16, conv1x1 2048->C classifier without bias),
# no generator, trained with the multi-label L_cls only; same schedule as
# BAS (SGD 0.05 / 0.005 backbone, poly 0.9, 10 epochs, batch 16, 512x512 +
# flip + crop 448). Its maps are fused with BAS's for the published VOC
# seeds: see configs/bas/bas_r50_seed-ms-flip_coco14-val.py (cam_module /
# cam_checkpoint).
_base_ = [
    '../_base_/datasets/coco14_cls.py',
    '../_base_/schedules/wsss_sgd_poly_10e.py', '../_base_/default_runtime.py'
]
num_classes = 80
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(448, 448))  # training batches are stacked at the crop size
model = dict(
    type='CAM',
    data_preprocessor=data_preprocessor,
    multi_label=True,
    backbone=dict(
        type='WSSSResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        type='CAMHead',
        variant='wsss',
        num_classes=num_classes,
        loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0)),
    test_cfg=dict(bg_threshold=0.15))  # usual CAM seed threshold (IRN)
train_dataloader = dict(batch_size=16)
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
