# WSOL schedule on ILSVRC (BAS, journal version): 9 epochs, learning rate
# x0.1 every 3 epochs; otherwise as the CUB schedule.
_base_ = ['./wsol_sgd_120e.py']
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[3, 6], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=9, val_interval=1)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3))
