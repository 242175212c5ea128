# configs/bas/bas_r50_1xb32-120e_cub-224x224.py evaluated with the
# field-standard protocol only
# (Choe et al., CVPR 2020): input resized to 224x224 without a crop,
# MaxBoxAcc / MaxBoxAccV2 over thresholds 0..0.99 (step 0.01).
#   python tools/test.py configs/bas/bas_r50_1xb32-120e_cub-224x224_wsoleval.py
#       CKPT
_base_ = ['./bas_r50_1xb32-120e_cub-224x224.py']
test_dataloader = dict(dataset=dict(pipeline=_base_.official_test_pipeline))
val_dataloader = test_dataloader
val_evaluator = dict(_delete_=True, type='WSOLBoxMetric', step=0.01)
test_evaluator = val_evaluator
