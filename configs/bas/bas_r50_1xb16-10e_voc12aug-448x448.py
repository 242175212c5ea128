# BAS, WSSS classification stage on PASCAL VOC 2012 train_aug (10,582
# images, image-level labels from the XML annotations), ResNet-50.
# Journal version: alpha (L_frg) 0.2, beta (L_ac) 1.2, batch 16, 10 epochs,
# SGD lr 0.05 new layers / 0.005 backbone, poly 0.9; input resized to
# 512x512, flipped, random crop 448.
# Validation/test: single-scale seeds on VOC train (1,464 images,
# SegmentationClass) with mmseg's IoUMetric; the multi-scale seed
# evaluation with the background-threshold sweep is
# configs/bas/bas_r50_seed-ms-flip_voc12-train.py.
_base_ = [
    '../_base_/models/bas_wsss_r50.py', '../_base_/datasets/voc12_cls.py',
    '../_base_/schedules/wsss_sgd_poly_10e.py', '../_base_/default_runtime.py'
]
num_classes = 20
alpha = 0.2
beta = 1.2
model = dict(
    head=dict(
        num_classes=num_classes,
        loss_frg=dict(loss_weight=alpha),
        loss_area=dict(loss_weight=beta)))
train_dataloader = dict(batch_size=16)
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
