# Seeds of the toy end-to-end pipeline's stage 1 (configs/toy/bas_voc_e2e.py):
# configs/bas/bas_r50_seed-ms-flip_voc12-train.py's SeedInferencer (scales
# 1.0/0.5/1.5 here, each
# with its flip; image classes; max-normalised maps) on the toy VOC train
# list, with the background-threshold sweep 0.05..0.95 (step 0.05) whose best
# threshold the pipeline exports at. The export covers the stage-1 train set
# (trainaug).
_base_ = ['./bas_voc_e2e.py']
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
load_from = None
test_dataloader = dict(batch_size=1)
val_dataloader = test_dataloader
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(
        type='SeedSweepMetric',
        thresholds=[round(0.05 + 0.05 * i, 2) for i in range(19)],
        prefix='sweep')
]
val_evaluator = test_evaluator
