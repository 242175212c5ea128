# BAS, WSSS classification stage on MS COCO 2014 train (82,081 images,
# image-level labels from instances_train2014.json), ResNet-50.
# Same recipe as VOC (journal version): alpha 0.2, beta 1.2, batch 16,
# 10 epochs, poly 0.9, 512x512 resize + flip + crop 448.
_base_ = [
    '../_base_/models/bas_wsss_r50.py', '../_base_/datasets/coco14_cls.py',
    '../_base_/schedules/wsss_sgd_poly_10e.py', '../_base_/default_runtime.py'
]
num_classes = 80
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
