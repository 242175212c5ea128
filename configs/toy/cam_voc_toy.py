# Plain CAM baseline on the toy VOC layout, trained exactly like the toy BAS
# model (configs/toy/bas_voc_toy.py): same data root, pipeline (112x112 resize,
# flip, 96x96 crop), batch, optimizer (SGD 0.05 new layers / 0.005 backbone,
# poly 0.9), iteration-based loop, hooks and seed. Only the model differs: the
# WSSS ResNet + conv1x1 classifier without generator, trained with the
# multi-label L_cls only (configs/cam/cam_r50_1xb16-10e_voc12aug-448x448.py,
# random init).
#
# Used twice by projects/toy_bas_vs_cam/toy_bas_vs_cam.py
# (projects/toy_bas_vs_cam/docs/toy_experiment.md), and as the base of the
# pipeline test's pretraining (configs/toy/cam_voc_e2e_pretrain.py):
#   1. to pretrain the backbone from random init (the toy stand-in for
#      ImageNet weights), and
#   2. as the "CAM trained the same way" baseline fine-tuned from that
#      checkpoint for as many steps as BAS.
# ResNet-18/34 instead of 50: model.backbone.depth=18 (the head reads the
# F1 / F2 channel counts from the backbone).
_base_ = ['./bas_voc_toy.py']

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
