# BAS seeds fused with a plain CAM network's seeds (docs/method.md section 4:
# the fusion of the published VOC seeds, 58.2 vs 57.7 mIoU, which IRN then
# refines into the published masks): each model's maps multi-scale + flip,
# max-normalised, summed and normalised again (mmbas.pseudo.seeds.fuse_maps).
# Everything else is bas_r50_seed-ms-flip_voc12-train.py. Train the CAM network
# first (its final checkpoint is cam_checkpoint below):
#   tools/train.py configs/cam/cam_r50_1xb16-10e_voc12aug-448x448.py
#   tools/test.py configs/bas/bas_r50_seed-ms-flip-cam-fusion_voc12-train.py \
#       work_dirs/bas_r50_1xb16-10e_voc12aug-448x448/epoch_10.pth
# (another CAM checkpoint: --cfg-options model.cam_checkpoint=PATH). The
# pipeline: tools/run_pipeline.py --dataset voc --seed-config THIS_CONFIG
#   --cfg-options-seeds model.cam_checkpoint=PATH [--refine irn].
_base_ = ['./bas_r50_seed-ms-flip_voc12-train.py']
model = dict(
    cam_module={{_base_.cam_model}},
    cam_checkpoint='work_dirs/cam_r50_1xb16-10e_voc12aug-448x448/epoch_10.pth')
