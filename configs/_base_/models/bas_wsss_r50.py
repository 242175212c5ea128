# BAS for WSSS (multi-label), ResNet-50 WSSS variant (docs/method.md section
# 2):
#   f1 = conv1..layer3, standard strides -> F1: 1024 ch at output stride 16
#   f2 = layer4 at stride 1              -> F2: 2048 ch at output stride 16
#   generator  = conv3x3(1024 -> C), no bias, + sigmoid on F1
#   classifier = conv1x1(2048 -> C), no bias
# Each step draws one random positive class per image (seeded from
# `randomness.seed`); it drives S, M_f, S_bg and the L_frg target.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(448, 448))  # training batches are stacked at the crop size
model = dict(
    type='BAS',
    data_preprocessor=data_preprocessor,
    multi_label=True,
    backbone=dict(
        type='WSSSResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # in_channels_f1 / in_channels_f2 of the head: read from the backbone
    head=dict(
        type='BASHead',
        variant='wsss',
        num_classes=20,
        loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0),
        loss_frg=dict(type='ForegroundGuidanceLoss', loss_weight=0.2),
        loss_bas=dict(type='BASLoss', loss_weight=1.0),
        loss_area=dict(type='AreaLoss', loss_weight=1.2)),
    # seg_logits = [bg_threshold, class maps of the image's classes]
    test_cfg=dict(bg_threshold=0.25))
