# Multi-scale + flip seeds of the toy CAM baseline (configs/toy/cam_voc_toy.py)
# with the same inference and metrics as ./bas_voc_seed_toy.py
# (IoUMetric at bg_threshold and the 0.05..0.95 sweep), so BAS and CAM are
# measured alike:
#   python tools/test.py \
#       projects/toy_bas_vs_cam/configs/cam_voc_seed_toy.py WORK/iter_N.pth
_base_ = ['../../../configs/toy/cam_voc_toy.py']
cam_model = {{_base_.model}}
model = dict(
    _delete_=True,
    type='SeedInferencer',
    module=cam_model,
    scales=[1.0, 0.5, 1.5, 2.0],
    flip=True,
    bg_threshold=0.25,
    cam_module=None,
    cam_checkpoint=None,
    crf=None)
test_dataloader = dict(batch_size=1)
val_dataloader = test_dataloader
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(
        type='SeedSweepMetric',
        thresholds=[round(0.05 + 0.01 * i, 2) for i in range(91)],
        prefix='sweep')
]
val_evaluator = test_evaluator
