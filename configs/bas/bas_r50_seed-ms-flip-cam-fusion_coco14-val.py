# BAS seeds fused with a plain CAM network's seeds on COCO (docs/method.md
# section 4: the fusion of the published VOC seeds, here on COCO): each
# model's maps multi-scale + flip, max-normalised, summed and normalised
# again (mmbas.pseudo.seeds.fuse_maps).
# Everything else is bas_r50_seed-ms-flip_coco14-val.py. Train the CAM network
# first (its final checkpoint is cam_checkpoint below):
#   tools/train.py configs/cam/cam_r50_1xb16-10e_coco14-448x448.py
#   tools/test.py configs/bas/bas_r50_seed-ms-flip-cam-fusion_coco14-val.py \
#       work_dirs/bas_r50_1xb16-10e_coco14-448x448/epoch_10.pth
# (another CAM checkpoint: --cfg-options model.cam_checkpoint=PATH). The
# pipeline: tools/run_pipeline.py --dataset coco --seed-config THIS_CONFIG
#   --cfg-options-seeds model.cam_checkpoint=PATH [--refine irn].
_base_ = ['./bas_r50_seed-ms-flip_coco14-val.py']
model = dict(
    cam_module={{_base_.cam_model}},
    cam_checkpoint='work_dirs/cam_r50_1xb16-10e_coco14-448x448/epoch_10.pth')
