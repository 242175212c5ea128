# WSOL schedule on OpenImages30k (BAS, journal version): 50 epochs, learning
# rate x0.1 every 20 epochs; otherwise as the CUB schedule.
_base_ = ['./wsol_sgd_120e.py']
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[20, 40], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=5)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=3))
