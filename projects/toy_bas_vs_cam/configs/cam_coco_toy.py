# Plain CAM baseline on the toy COCO layout, trained exactly like the toy BAS
# model (./bas_coco_toy.py): same data, pipeline (112x112 resize,
# flip, 96x96 crop), batch, optimizer, schedule, hooks and seed. Only the
# model differs: the WSSS ResNet + conv1x1 classifier without generator,
# trained with the multi-label L_cls only
# (configs/cam/cam_r50_1xb16-10e_coco14-448x448.py,
# random init). The COCO twin of configs/toy/cam_voc_toy.py, used the same
# two ways by projects/toy_bas_vs_cam/toy_bas_vs_cam.py --dataset coco
# (pretraining from random init; the "CAM trained the same way" baseline).
# ResNet-18/34 instead of 50: model.backbone.depth=18 (the head reads the
# F1 / F2 channel counts from the backbone).
_base_ = ['./bas_coco_toy.py']

model = dict(
    _delete_=True,
    type='CAM',
    data_preprocessor={{_base_.model.data_preprocessor}},
    multi_label=True,
    backbone=dict(type='WSSSResNet', depth=50, init_cfg=None),
    head=dict(
        type='CAMHead',
        variant='wsss',
        num_classes={{_base_.num_classes}},
        loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0)),
    test_cfg=dict(bg_threshold=0.15))
