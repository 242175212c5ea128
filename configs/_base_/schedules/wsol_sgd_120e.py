# WSOL schedule on CUB (BAS, journal version): SGD with Nesterov momentum,
# 120 epochs, learning rate x0.1 after epoch 80.
# Learning rates: new layers (generator, classifier) 1e-2, backbone 1e-3
# (lr_mult 0.1), biases 2x in both (BASOptimWrapperConstructor composes the
# two multipliers).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=1e-2, momentum=0.9, nesterov=True, weight_decay=5e-4),
    constructor='BASOptimWrapperConstructor',
    paramwise_cfg=dict(
        custom_keys={'backbone': dict(lr_mult=0.1)}, bias_lr_mult=2.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[80], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
