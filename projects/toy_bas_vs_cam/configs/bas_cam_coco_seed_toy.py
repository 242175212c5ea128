# Fused BAS + CAM seeds on the toy COCO train2014 images:
# norm(norm(BAS) + norm(CAM)), each map multi-scale + flip (the COCO twin of
# ./bas_cam_voc_seed_toy.py). BAS weights = the test checkpoint,
# CAM weights = model.cam_checkpoint:
#   python tools/test.py \
#       projects/toy_bas_vs_cam/configs/bas_cam_coco_seed_toy.py \
#       BAS/iter_N.pth \
#       --cfg-options model.cam_checkpoint=CAM/iter_N.pth
# (for another depth also set model.cam_module.backbone.depth like
# model.module.backbone.depth).
_base_ = [
    './bas_coco_seed_toy.py',
]
model = dict(
    cam_module=dict(
        _delete_=True,
        type='CAM',
        data_preprocessor={{_base_.bas_model.data_preprocessor}},
        multi_label=True,
        backbone=dict(type='WSSSResNet', depth=50, init_cfg=None),
        head=dict(
            type='CAMHead',
            variant='wsss',
            num_classes={{_base_.num_classes}},
            loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0))))
