# WSOL evaluation, field-standard protocol only (Choe et al., CVPR 2020,
# clovaai/wsolevaluation) on boxes: MaxBoxAcc (largest contour, IoU 50) and
# MaxBoxAccV2 (all contours, mean over IoU 30/50/70), thresholds
# 0, 0.01, ..., 0.99.  For CUB / ILSVRC.  (OpenImages: wsol_official_mask.py.)
#
# The official protocol feeds the network the image resized to 224x224 (no
# crop).  The dataset base files define that pipeline as
# ``official_test_pipeline``; the test dataloader is a key of the dataset
# base, so the variant config switches it (a base file cannot redefine it):
#
#   _base_ = ['./bas_r50_1xb32-120e_cub-224x224.py',
#              '../_base_/evaluation/wsol_official.py']
#   test_dataloader = dict(
#       dataset=dict(pipeline=_base_.official_test_pipeline))
#   val_dataloader = test_dataloader
#
# (see configs/bas/bas_r50_1xb32-120e_cub-224x224_wsoleval.py and
# docs/wsol_evaluation.md).
official_box_metric = dict(type='WSOLBoxMetric', step=0.01)
val_evaluator = official_box_metric
test_evaluator = val_evaluator

wsol_visualizer = dict(
    type='WSOLLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer',
    alpha=0.5)
wsol_visualization_hook = dict(
    type='WSOLVisualizationHook', draw=False, interval=1)
