# WSOL evaluation, default of every CUB / ILSVRC model config: BOTH protocols
# in one test run, on the paper-protocol input (resize 256 -> centre crop
# 224, the dataset base's ``test_pipeline``):
#   * WSOLPaperMetric -- BAS tables (Top-1/Top-5/GT-known Loc, IoU30/50/70)
#     at the fixed per-backbone ``box_threshold``
#     (docs/method.md section 3);
#   * WSOLBoxMetric -- MaxBoxAcc / MaxBoxAccV2 of Choe et al. (threshold
#     sweep, step 0.01) on the SAME crop-224 maps.  The strict field-standard
#     numbers use resize-224 input instead: use ``wsol_official.py`` and the
#     dataset's ``official_test_pipeline`` (docs/wsol_evaluation.md).
#
# Usage in a model config (a base file's values are computed before the
# child overrides its variables, so the model config builds the paper metric
# from its own ``box_threshold``; the box metric is reused):
#
#   _base_ = [..., '../_base_/evaluation/wsol_paper.py']
#   box_threshold = 0.25
#   val_evaluator = [
#       dict(type='WSOLPaperMetric', thresholds=[box_threshold],
#            fixed_threshold=box_threshold), _base_.official_box_metric]
#   test_evaluator = val_evaluator
#   # overlays for tools/test.py --show-dir (these keys live in the runtime /
#   # schedule bases, so they are merged here, not defined twice):
#   visualizer = _base_.wsol_visualizer
#   default_hooks = dict(visualization=_base_.wsol_visualization_hook)
# 0.1 = the CUB threshold of every backbone (docs/method.md section 3).
# Deliberately not a variable here: model configs already define
# ``box_threshold`` and two bases may not define the same key.
paper_metric = dict(
    type='WSOLPaperMetric', thresholds=[0.1], fixed_threshold=0.1)
official_box_metric = dict(type='WSOLBoxMetric', step=0.01)
val_evaluator = [paper_metric, official_box_metric]
test_evaluator = val_evaluator

# Overlay settings (see header: merge them in the model config).  The green
# predicted box uses the paper protocol (largest connected component) at the
# threshold of the runner's WSOLPaperMetric (its ``fixed_threshold``), so it
# follows ``box_threshold`` without repeating it here; set
# ``box_threshold=...`` in ``wsol_visualizer`` to force another one.
wsol_visualizer = dict(
    type='WSOLLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer',
    alpha=0.5)
wsol_visualization_hook = dict(
    type='WSOLVisualizationHook', draw=False, interval=1)
