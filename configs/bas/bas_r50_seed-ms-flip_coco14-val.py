# Multi-scale + flip seed evaluation of a BAS WSSS model (docs/method.md
# section 4/5)
# on COCO 2014 val (SegmentationClass/val2014 from
# tools/dataset_converters/coco2014.py):
#   tools/test.py configs/bas/bas_r50_seed-ms-flip_coco14-val.py
#       work_dirs/bas_r50_1xb16-10e_coco14-448x448/epoch_10.pth
# Scales 1.0, 0.5, 1.5, 2.0, each with its flip, maps summed, restricted to
# the image's classes and max-normalised (mmbas.pseudo.seeds.SeedRecipe).
# Metrics: mmseg IoUMetric at bg_threshold (keys mIoU, aAcc, ...) and the
# background-threshold sweep 0.20..0.44 (keys sweep/mIoU,
# sweep/best_threshold, sweep/mIoU@0.25, ...), from the same pass.
# The checkpoint of the bare BAS model
# (configs/bas/bas_r50_1xb16-10e_coco14-448x448.py) loads
# directly (keys are mapped onto the wrapper's module).
# CAM fusion (the published VOC seeds): configs/bas/
#   bas_r50_seed-ms-flip-cam-fusion_coco14-val.py
#   (this config + cam_model below).
# Dense CRF (needs pip install pydensecrf2): model.crf=dict(type=dense_crf)
# Pseudo masks: tools/export_pseudo_labels.py THIS_CONFIG CKPT --out DIR
# writes exactly the label maps tools/test.py scores with this config
# (same --cfg-options, e.g. model.bg_threshold=<best of the sweep>); set
# export_dataloader (e.g. the trainaug list) to export another list.
_base_ = ['./bas_r50_1xb16-10e_coco14-448x448.py']
bas_model = {{_base_.model}}
cam_model = dict(
    type='CAM',
    data_preprocessor={{_base_.data_preprocessor}},
    multi_label=True,
    backbone=dict(type='WSSSResNet', depth=50, init_cfg=None),
    head=dict(
        type='CAMHead',
        variant='wsss',
        num_classes={{_base_.num_classes}},
        loss_cls=dict(type='MultiLabelPosNegLoss', loss_weight=1.0)))
model = dict(
    _delete_=True,
    type='SeedInferencer',
    module=bas_model,
    scales=[1.0, 0.5, 1.5, 2.0],
    flip=True,
    bg_threshold=0.25,
    # no cam_module here (None): the fusion config adds cam_model below
    crf=None)
# original resolution, batch 1 (images differ in size)
test_dataloader = dict(batch_size=1)
val_dataloader = test_dataloader
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(
        type='SeedSweepMetric',
        thresholds=[round(0.20 + 0.01 * i, 2) for i in range(25)],
        prefix='sweep')
]
val_evaluator = test_evaluator
