# WSOL evaluation on masks (OpenImages30k): PxAP and PIoU of Choe et al.
# (CVPR 2020, clovaai/wsolevaluation), thresholds 0, 0.001, ..., 0.999.
# docs/method.md section 6 reports PxAP / PIoU for OpenImages, so this is the
# default evaluator of the OpenImages model configs.  The maps come from the
# test pipeline of the model config (paper crop by default; switch to the
# dataset's ``official_test_pipeline`` for the strict protocol, see
# wsol_official.py).
official_mask_metric = dict(type='WSOLMaskMetric', step=0.001)
val_evaluator = official_mask_metric
test_evaluator = val_evaluator

# no box threshold on masks: the overlay draws the heatmap (and GT boxes if
# the dataset has them), no predicted box
wsol_visualizer = dict(
    type='WSOLLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer',
    alpha=0.5)
wsol_visualization_hook = dict(
    type='WSOLVisualizationHook', draw=False, interval=1)
