# Multi-scale + flip seeds of the toy COCO BAS model
# (./bas_coco_toy.py) on the toy train2014 images with
# SegmentationClass/train2014 (81 classes), the COCO twin of
# ./bas_voc_seed_toy.py:
#   python tools/test.py \
#       projects/toy_bas_vs_cam/configs/bas_coco_seed_toy.py WORK/iter_N.pth
# Metrics: IoUMetric at bg_threshold (0.25) and the background-threshold
# sweep 0.05..0.95 (keys sweep/mIoU, sweep/best_threshold, sweep/mIoU@0.25
# ...), as in the toy VOC seed configs so that BAS and CAM are swept alike.
_base_ = ['./bas_coco_toy.py']
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
