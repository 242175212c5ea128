# WSSS classification-stage schedule on VOC / COCO (BAS, journal version):
# SGD momentum 0.9, weight decay 1e-4; learning rate 0.05 for new layers and
# 0.005 for the backbone (lr_mult 0.1); poly decay (power 0.9) over the real
# number of iterations of 10 epochs.
# Deliberate differences from the authors' code (documented, not
# reproduced): their optimizer leaves biases and BN shifts out, uses momentum
# 1e-4 through an inherited bug, and decays over a wrong step count.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
    constructor='BASOptimWrapperConstructor',
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
