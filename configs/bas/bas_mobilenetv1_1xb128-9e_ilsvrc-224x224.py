# BAS (journal version) on ILSVRC 2012 (1.28M train / 50,000 val images, 1,000
# classes),
# MobileNetV1 WSOL variant: F1 512 ch at /8, F2 1024 ch at /16.
# Recipe (docs/method.md section 3): alpha (L_frg) 0.5, beta (L_ac) 1.5, test
# top-k 1, batch 128, 9 epochs, lr x0.1 every 3; SGD Nesterov 0.9, wd 5e-4, lr
# 1e-3 backbone / 1e-2 new layers, 2x for biases; ImageNet-pretrained backbone.
# Batch size is the paper's total batch on one process; with N processes set
# train_dataloader.batch_size=128//N to keep it.
_base_ = [
    '../_base_/models/bas_wsol_r50.py', '../_base_/datasets/ilsvrc.py',
    '../_base_/schedules/wsol_sgd_9e.py', '../_base_/default_runtime.py',
    '../_base_/evaluation/wsol_paper.py'
]
num_classes = 1000
alpha = 0.5
beta = 1.5
topk = 1
# box threshold of the paper protocol (docs/method.md section 3)
box_threshold = 0.5
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV1',
        # the ImageNet MobileNetV1 (with ReLU, 69.5% top-1) the authors start
        # from; put the file there (its key layout is model.<i>.<j>)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrained/mobilenet_v1_with_relu_69_5.pth')),
    head=dict(
        num_classes=num_classes,
        loss_frg=dict(loss_weight=alpha),
        loss_area=dict(loss_weight=beta)),
    # k=1: the map of the ground-truth class for GT-known Loc (docs/method.md
    # sec. 4)
    test_cfg=dict(topk=topk, gt_known=topk == 1))
train_dataloader = dict(batch_size=128)
# both protocols in one tools/test.py run (docs/wsol_evaluation.md): the
# paper protocol at box_threshold and MaxBoxAcc/MaxBoxAccV2 on the same maps
val_evaluator = [
    dict(
        type='WSOLPaperMetric',
        thresholds=[box_threshold],
        fixed_threshold=box_threshold), _base_.official_box_metric
]
test_evaluator = val_evaluator
# overlays for tools/test.py --show-dir: heatmap, predicted box (green),
# GT boxes (red)
visualizer = _base_.wsol_visualizer
default_hooks = dict(visualization=_base_.wsol_visualization_hook)
