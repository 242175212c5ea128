# IRN of the toy end-to-end pipeline with --refine irn
# (tests/test_tools/test_run_pipeline.py, docs/pseudo_masks.md "Measured
# on toy VOC"): configs/toy/irn_r18_voc_toy.py (the VOC IRN
# config shrunk for a CPU) with
# * the ResNet-18 of the toy backbone pretraining
#   (configs/toy/cam_voc_e2e_pretrain.py, load_from; its head keys are
#   unused), the toy stand-in for IRN's ImageNet weights, frozen as IRN
#   freezes them (the strides (1, 2, 2, 1) do not change the weights);
# * 64x64 crops of the ~96 px images (random scale 0.5-1.5 of 96 px),
#   batch 8, 120 iterations (about 4 passes over the 24 toy train_aug
#   images), checkpoints every 60 (the pipeline's resume logic);
# * IRN's optimiser and poly decay as they are (SGD lr 0.1, 10x for the
#   displacement branch).
# The pipeline points the train set at the stage-1 train set and at the
# relation labels it exported (data_root, img_path, ann_file,
# seg_map_path).
_base_ = ['./irn_r18_voc_toy.py']

max_iters = 120
ckpt_interval = 60
load_from = 'work_dirs/cam_voc_e2e_pretrain/iter_150.pth'

# InfiniteSampler: no 2 s pause of mmengine's loop at every epoch end
train_dataloader = dict(
    batch_size=8, sampler=dict(type='InfiniteSampler', shuffle=True))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=ckpt_interval, max_keep_ckpts=2))
