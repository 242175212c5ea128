# Copyright (c) mmbas contributors. All rights reserved.
"""The CAM-fusion seed configs are their plain seed config plus the CAM network
of the CAM training config, loaded from that config's final checkpoint."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import mmbas  # noqa: F401 - registers mmbas and patches the stack

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIRS = [('voc12-train', 'voc12aug'), ('coco14-val', 'coco14')]


def _load(name):
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('split,train_set', PAIRS)
def test_fusion_config_is_plain_seeds_plus_cam(split, train_set):
    fused = _load(f'bas/bas_r50_seed-ms-flip-cam-fusion_{split}.py')
    plain = _load(f'bas/bas_r50_seed-ms-flip_{split}.py')
    cam = _load(f'cam/cam_r50_1xb16-10e_{train_set}-448x448.py')
    # the seed recipe is the plain config's
    for key in ('type', 'module', 'scales', 'flip', 'bg_threshold', 'crf'):
        assert fused.model[key] == plain.model[key], key
    assert fused.test_evaluator == plain.test_evaluator
    assert fused.test_dataloader == plain.test_dataloader
    # the fused network is the CAM config's model, from its last epoch
    assert plain.model.get("cam_module") is None
    for key in ('type', 'multi_label', 'head'):
        assert fused.model.cam_module[key] == cam.model[key], key
    backbone = dict(cam.model.backbone, init_cfg=None)  # weights: checkpoint
    assert fused.model.cam_module.backbone == backbone
    assert fused.model.cam_checkpoint == (
        f'work_dirs/cam_r50_1xb16-10e_{train_set}-448x448/'
        f'epoch_{cam.train_cfg.max_epochs}.pth')


def test_fusion_model_builds_and_loads_the_cam_checkpoint(tmp_path):
    cfg = _load('bas/bas_r50_seed-ms-flip-cam-fusion_voc12-train.py').model
    cfg.module.backbone.init_cfg = None
    cfg.cam_checkpoint = None
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    assert type(model.cam_module).__name__ == 'CAM'
    # the checkpoint named in the config is loaded into the CAM network
    ckpt = str(tmp_path / 'epoch_10.pth')
    torch.save(dict(state_dict=model.cam_module.state_dict()), ckpt)
    cfg.cam_checkpoint = ckpt
    torch.manual_seed(1)
    loaded = MODELS.build(cfg)
    for key, value in model.cam_module.state_dict().items():
        assert torch.equal(loaded.cam_module.state_dict()[key], value), key
