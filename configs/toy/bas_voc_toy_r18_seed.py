# Seed evaluation of the toy stage-1 model (configs/toy/bas_voc_toy_r18.py):
# configs/bas/bas_r50_seed-ms-flip_voc12-train.py's SeedInferencer (multi-scale
# + flip, image
# classes, max-normalised) on the toy VOC train list with the background
# threshold sweep. Scales (1.0, 0.5, 1.5) keep it fast on a CPU; the
# pipeline's export runs this same model, so its masks use them too.
_base_ = ['./bas_voc_toy_r18.py']
bas_model = {{_base_.model}}
model = dict(
    _delete_=True,
    type='SeedInferencer',
    module=bas_model,
    scales=[1.0, 0.5, 1.5],
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
        thresholds=[round(0.05 + 0.05 * i, 2) for i in range(17)],
        prefix='sweep')
]
val_evaluator = test_evaluator
