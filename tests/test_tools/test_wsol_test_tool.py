# Copyright (c) mmbas contributors. All rights reserved.
"""``tools/test.py configs/bas/bas_r50_1xb32-120e_cub-224x224.py CKPT
--show-dir DIR`` end to end on a toy CUB layout with a tiny random-init BAS:
both protocols' tables are printed and one overlay per test image is
written."""
import glob
import os.path as osp

import pytest
import torch

import mmbas  # noqa: F401
from mmbas.testing import make_cub

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CUB_R50 = osp.join(REPO, 'configs', 'bas', 'bas_r50_1xb32-120e_cub-224x224.py')
EVAL_BASE = osp.join(REPO, 'configs', '_base_', 'evaluation', 'wsol_paper.py')

# shrink the network / input; the evaluator, visualizer and hook stay the
# ones of configs/bas/bas_r50_1xb32-120e_cub-224x224.py
SHRINK = '''
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    head=dict(hidden_channels=16, num_classes=4),
    test_cfg=dict(topk=4))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='WSOLCenterCrop', crop_size=56),
    dict(type='PackBASInputs')
]
test_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, pipeline=test_pipeline))
test_evaluator = {evaluator}
val_evaluator = test_evaluator
val_dataloader = test_dataloader
'''

# what configs/bas/bas_r50_1xb32-120e_cub-224x224.py gets from
# configs/_base_/evaluation (used
# only while the model config does not include the evaluation base yet)
INTEGRATION = '''
visualizer = dict(
    type='WSOLLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer', alpha=0.5)
default_hooks = dict(
    visualization=dict(type='WSOLVisualizationHook', draw=False,
                       interval=1))
'''


def _write_config(tmp_path, root):
    from mmengine.config import Config
    base = Config.fromfile(CUB_R50)
    text = f'_base_ = [{CUB_R50!r}]\n'
    if base.get('test_evaluator') is None:
        ev = Config.fromfile(EVAL_BASE)
        evaluator = repr(ev.test_evaluator)
        text += INTEGRATION
    else:
        evaluator = repr(base.test_evaluator)
        assert base.visualizer.type == 'WSOLLocalVisualizer'
        assert base.default_hooks.visualization.type == \
            'WSOLVisualizationHook'
    text += SHRINK.format(root=root, evaluator=evaluator)
    path = tmp_path / 'toy_cub_bas.py'
    path.write_text(text)
    return str(path)


@pytest.mark.slow
def test_tools_test_prints_both_protocols_and_writes_overlays(
        run_tool, tmp_path):
    make_cub(str(tmp_path / 'data'), num_train=4, num_val=6, size=72)
    root = str(tmp_path / 'data' / 'CUB_200_2011')
    cfg_path = _write_config(tmp_path, root)

    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'bas.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)

    show_dir = str(tmp_path / 'show')
    proc = run_tool([
        osp.join(REPO, 'tools', 'test.py'), cfg_path, ckpt, '--work-dir',
        str(tmp_path / 'work'), '--show-dir', show_dir
    ],
                    env=dict(PYTHONWARNINGS='ignore'),
                    timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # paper protocol table + keys
    assert 'WSOL paper-protocol localization (6 images)' in out, out[-3000:]
    for key in ('gt_known_loc', 'top1_loc', 'top5_loc', 'iou30', 'iou50',
                'iou70'):
        assert key in out, key
    # official box protocol table + keys
    assert 'WSOL official box metrics (6 images)' in out, out[-3000:]
    for key in ('MaxBoxAcc', 'MaxBoxAccV2', 'MaxBoxAccV2_IoU30',
                'MaxBoxAccV2_IoU70'):
        assert key in out, key
    overlays = glob.glob(osp.join(show_dir, '**', '*.png'), recursive=True)
    assert len(overlays) == 6, (overlays, out[-2000:])
    import mmcv
    img = mmcv.imread(overlays[0])
    assert img.shape == (56, 56, 3)
