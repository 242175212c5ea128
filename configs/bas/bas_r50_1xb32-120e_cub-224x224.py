# BAS (journal version) on CUB-200-2011 (5,994 train / 5,794 test images, 200
# classes),
# ResNet-50 WSOL variant: F1 1024 ch at /8, F2 2048 ch at /16.
# Recipe (docs/method.md section 3): alpha (L_frg) 0.5, beta (L_ac) 1.5, test
# top-k 200, batch 32, 120 epochs, lr x0.1 after 80; SGD Nesterov 0.9, wd 5e-4,
# lr 1e-3 backbone / 1e-2 new layers, 2x for biases; ImageNet-pretrained
# backbone.
# Batch size is the paper's total batch on one process; with N processes set
# train_dataloader.batch_size=32//N to keep it.
_base_ = [
    '../_base_/models/bas_wsol_r50.py', '../_base_/datasets/cub.py',
    '../_base_/schedules/wsol_sgd_120e.py', '../_base_/default_runtime.py',
    '../_base_/evaluation/wsol_paper.py'
]
num_classes = 200
alpha = 0.5
beta = 1.5
topk = 200
# box threshold of the paper protocol (docs/method.md section 3)
box_threshold = 0.1
model = dict(
    head=dict(
        num_classes=num_classes,
        loss_frg=dict(loss_weight=alpha),
        loss_area=dict(loss_weight=beta)),
    test_cfg=dict(topk=topk))
train_dataloader = dict(batch_size=32)
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
