# Multi-scale + flip seeds of the toy BAS model (configs/toy/bas_voc_toy.py)
# on the toy VOC *train* split (SegmentationClass), like
# configs/bas/bas_r50_seed-ms-flip_voc12-train.py on the real data:
#   python tools/test.py \
#       projects/toy_bas_vs_cam/configs/bas_voc_seed_toy.py WORK/iter_N.pth
# Metrics: IoUMetric at bg_threshold (0.25, the BAS value) and a wide
# background-threshold sweep 0.05..0.95 (keys sweep/mIoU,
# sweep/best_threshold, sweep/mIoU@0.25 ...) -- wider than the real-data
# 0.20..0.44 so that CAM (usual threshold ~0.15) and BAS are swept alike.
# CAM fusion: ./bas_cam_voc_seed_toy.py.
_base_ = ['../../../configs/toy/bas_voc_toy.py']
bas_model = {{_base_.model}}
model = dict(
    _delete_=True,
    type='SeedInferencer',
    module=bas_model,
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
