# BAS for WSOL (single-label), ResNet-50 WSOL variant (docs/method.md section
# 2):
#   f1 = conv1..layer3 with layer3 at stride 1 -> F1: 1024 ch, 28x28 at 224
#   f2 = 2x2 max-pool + layer4 (stride 1)        -> F2: 2048 ch, 14x14 at 224
#   generator  = conv3x3(1024 -> C) + sigmoid on F1
#   classifier = conv3x3(2048 -> 1024), ReLU, conv3x3(1024 -> 1024), ReLU,
#                conv1x1(1024 -> C)   (journal version: no final ReLU)
# Experiment configs set num_classes, the loss weights alpha (L_frg) and
# beta (L_ac), and the test-time top-k.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224))  # training batches are stacked at the crop size
model = dict(
    type='BAS',
    data_preprocessor=data_preprocessor,
    multi_label=False,  # CUB / ILSVRC / OpenImages: the GT class drives BAS
    backbone=dict(
        type='WSOLResNet',
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # in_channels_f1 / in_channels_f2 of the head: read from the backbone
    head=dict(
        type='BASHead',
        variant='wsol',
        hidden_channels=1024,
        num_classes=200,
        loss_cls=dict(type='BASCrossEntropyLoss', loss_weight=1.0),
        loss_frg=dict(type='ForegroundGuidanceLoss', loss_weight=0.5),
        loss_bas=dict(type='BASLoss', loss_weight=1.0),
        loss_area=dict(type='AreaLoss', loss_weight=1.5)),
    # topk: classes (ranked by S) whose maps are averaged at test time
    test_cfg=dict(topk=1, gt_known=False))
