# configs/bas/cub_r50.py evaluated with the field-standard protocol only
# (Choe et al., CVPR 2020): input resized to 224x224 without a crop,
# MaxBoxAcc / MaxBoxAccV2 over thresholds 0..0.99 (step 0.01).
#   python tools/test.py configs/bas/cub_r50_official.py CKPT
_base_ = ['./cub_r50.py']
test_dataloader = dict(dataset=dict(pipeline=_base_.official_test_pipeline))
val_dataloader = test_dataloader
val_evaluator = dict(_delete_=True, type='WSOLBoxMetric', step=0.01)
test_evaluator = val_evaluator
