# Copyright (c) mmbas contributors. All rights reserved.
"""Fixtures for the pseudo-label export tests and benchmark.

:func:`make_export_setup` writes a toy VOC, a config with a random-init
WSSS BAS model (``WSSSResNet`` of the given depth) and a matching
checkpoint. :class:`StubSeedModel` is a model with hand-checkable maps.

Importing this module registers ``TinyBASTestBackbone`` (see
:mod:`mmbas.testing.bas_reference`) and :class:`SlowTinyBackbone`
(``SlowTinyBASTestBackbone``), so a config can use them through
``custom_imports=dict(imports=['mmbas', 'mmbas.testing.export_setup'])``.

Test-only hook for the kill-and-rerun test
(``tests/test_tools/test_export_tool.py``): :func:`make_slow_config` writes
a config whose backbone sleeps ``delay_s`` seconds per forward, so that a
SIGKILL sent once the first masks appear reliably lands in the middle of
the export. The sleep is the only difference (same weights, same maps);
nothing in the export code itself knows about it.
"""
import os.path as osp
import time
from typing import Dict, Union

import torch
from mmengine.model import BaseModel

from mmbas.testing.bas_reference import TinyBackbone, register_tiny_backbone

TINY_BACKBONE = register_tiny_backbone()


class SlowTinyBackbone(TinyBackbone):
    """:class:`TinyBackbone` that sleeps ``delay_s`` seconds before every
    ``forward_f1`` (tests only: slows an export down without changing its
    output; the state dict is the tiny backbone's)."""

    def __init__(self, delay_s: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        self.delay_s = float(delay_s)

    def forward_f1(self, x):
        time.sleep(self.delay_s)
        return super().forward_f1(x)


SLOW_TINY_BACKBONE = register_tiny_backbone('SlowTinyBASTestBackbone',
                                            SlowTinyBackbone)

WSSS_MODEL = '''
model = dict(
    type='BAS',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
        seg_pad_val=255),
    backbone={backbone},
    head=dict(
        type='BASHead', num_classes={num_classes}, variant='wsss',
        hidden_channels=16,
        loss_cls=dict(type='MultiLabelPosNegLoss')),
    multi_label=True,
    test_cfg=dict())
'''

VOC_DATA = '''
test_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VOCClsDataset', data_root={data_root!r},
        ann_file='ImageSets/Segmentation/trainaug.txt',
        data_prefix=dict(img_path='JPEGImages'), test_mode=True,
        pipeline=[dict(type='StrictLoadImageFromFile'),
                  dict(type='PackBASInputs')]))
'''


def wsss_model_cfg_text(depth: Union[int, str] = 'tiny',
                        num_classes: int = 20) -> str:
    """Config text of a random-init WSSS BAS model: ``depth`` 18/34/50 for
    a ``WSSSResNet``, ``'tiny'`` for the tiny test backbone (F1 8, F2 16
    channels, stride 4). The head reads the channel counts from the
    backbone."""
    if depth == 'tiny':
        backbone = f"dict(type='{TINY_BACKBONE}', f2_pool=False)"
    else:
        backbone = f"dict(type='WSSSResNet', depth={depth}, init_cfg=None)"
    return WSSS_MODEL.format(backbone=backbone, num_classes=num_classes)


def make_export_setup(root: str,
                      num_train: int = 6,
                      size: int = 64,
                      depth: Union[int, str] = 'tiny',
                      seed: int = 0) -> Dict[str, str]:
    """Toy VOC + config + checkpoint under ``root``.

    Returns:
        dict: ``data_root``, ``config``, ``checkpoint``, ``bad_checkpoint``
        (a model of another depth/classes), ``list`` (trainaug.txt).
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS

    import mmbas  # noqa: F401
    from mmbas.testing import make_voc
    manifest = make_voc(
        root, seed=seed, num_train=num_train, num_val=1, size=size)
    data_root = manifest['root']
    config = osp.join(root, 'export_cfg.py')
    with open(config, 'w') as f:
        f.write("custom_imports = dict(imports=['mmbas', "
                "'mmbas.testing.export_setup'], "
                'allow_failed_imports=False)\n')
        f.write("default_scope = 'mmseg'\n")
        f.write(wsss_model_cfg_text(depth))
        f.write(VOC_DATA.format(data_root=data_root))
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    ckpt = osp.join(root, 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    other_cfg = Config.fromfile(config).model
    other_cfg.head.num_classes = 5
    bad = osp.join(root, 'other_model.pth')
    torch.save(dict(state_dict=MODELS.build(other_cfg).state_dict()), bad)
    return dict(
        data_root=data_root,
        config=config,
        checkpoint=ckpt,
        bad_checkpoint=bad,
        list=osp.join(data_root, 'ImageSets', 'Segmentation', 'trainaug.txt'))


class ImageListDataset:
    """Images with image-level labels as an export dataset: ``metainfo``,
    ``get_data_info`` and the test pipeline of the seed configs
    (``StrictLoadImageFromFile`` + ``PackBASInputs``); for benchmarks and tests
    that write their own images.

    Args:
        items (Sequence): ``(name, img_path, labels)`` per image (0-based
            foreground classes).
        num_classes (int): Number of foreground classes C.
    """

    def __init__(self, items, num_classes: int):
        from mmcv.transforms import Compose
        self.items = list(items)
        self.metainfo = dict(classes=['background'] +
                             [f'c{i}' for i in range(num_classes)])
        self.pipeline = Compose([
            dict(type='mmseg.StrictLoadImageFromFile'),
            dict(type='mmseg.PackBASInputs')
        ])

    def __len__(self) -> int:
        return len(self.items)

    def get_data_info(self, i: int) -> dict:
        import numpy as np
        _, path, labels = self.items[i]
        return dict(
            img_path=path,
            gt_label=np.asarray(labels, np.int64),
            seg_fields=[])

    def __getitem__(self, i: int) -> dict:
        return self.pipeline(self.get_data_info(i))


class StubSeedModel(BaseModel):
    """Maps of every class = 1 on the top half rows of the input, 0 below (at
    input resolution), S = 0; ``test_step`` makes single-scale seeds with
    :class:`mmbas.pseudo.seeds.SeedRecipe`.

    The label map of an image
    is its lowest class on the top ``H // 2`` rows (ties go to the lower
    class) and background below; ``num_classes`` classes.
    """

    def __init__(self, num_classes: int = 20):
        from mmseg.models import SegDataPreProcessor
        super().__init__(
            data_preprocessor=SegDataPreProcessor(
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True))
        self.num_classes = num_classes

    def forward_maps(self, inputs, with_scores=True):
        n, _, h, w = inputs.shape
        maps = inputs.new_zeros(n, self.num_classes, h, w)
        maps[:, :, :h // 2] = 1.0
        return maps, inputs.new_zeros(n, self.num_classes)

    def forward(self, inputs, data_samples=None, mode='predict'):
        from mmbas.pseudo.seeds import SeedRecipe
        return SeedRecipe(
            scales=(1.0, ), flip=False).predict(self, inputs, data_samples,
                                                self.num_classes)

    def test_step(self, data):
        data = self.data_preprocessor(data, False)
        return self(data['inputs'], data['data_samples'])


def make_slow_config(setup: Dict[str, str], delay_s: float = 0.2) -> str:
    """Write ``<root>/export_slow_cfg.py``: the tiny-backbone config of
    :func:`make_export_setup` (``depth='tiny'``) with :class:`SlowTinyBackbone`
    (``delay_s`` per forward); the setup's checkpoint loads into it unchanged.

    Test-only (see the module doc).
    """
    path = osp.join(osp.dirname(setup['config']), 'export_slow_cfg.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['./{osp.basename(setup['config'])}']\n")
        f.write(f"model = dict(backbone=dict(type='{SLOW_TINY_BACKBONE}', "
                f'delay_s={float(delay_s)!r}))\n')
    return path


SEED_CONFIG = '''
_base_ = ['./{base}']
bas_model = {{{{_base_.model}}}}
cam_model = dict(
    type='CAM',
    data_preprocessor={{{{_base_.model.data_preprocessor}}}},
    multi_label=True,
    backbone=dict(type='{backbone}', f2_pool=False),
    head=dict(type='CAMHead', variant='wsss', num_classes=20,
              loss_cls=dict(type='MultiLabelPosNegLoss')))
model = dict(
    _delete_=True,
    type='SeedInferencer',
    module=bas_model,
    scales={scales!r},
    flip=True,
    bg_threshold={bg_threshold!r},
    cam_module={cam_module},
    cam_checkpoint={cam_checkpoint!r},
    crf={crf})
# seeds scored on the train list with its GT masks (tools/test.py); the
# export writes the same list's masks (export_dataloader)
test_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VOCClsDataset', data_root={data_root!r},
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass'),
        test_mode=True,
        pipeline=[dict(type='StrictLoadImageFromFile'),
                  dict(type='LoadWSOLAnnotations'),
                  dict(type='PackBASInputs')]))
export_dataloader = test_dataloader
test_cfg = dict(type='TestLoop')
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SeedSweepMetric', thresholds=[0.2, 0.3, 0.4],
         prefix='sweep')]
'''


def make_seed_setup(setup: Dict[str, str],
                    fusion: bool = True,
                    crf: bool = True,
                    scales=(1.0, 0.5),
                    bg_threshold: float = 0.3,
                    seed: int = 1) -> str:
    """Write ``<root>/seed_cfg.py``: a seed config over the tiny-backbone
    config of :func:`make_export_setup` -- ``SeedInferencer`` with ``scales`` +
    flip, optionally fused with a random-init tiny CAM (checkpoint
    ``<root>/cam.pth``) and refined with dense CRF, scored on the toy train
    list with its GT masks (IoUMetric + SeedSweepMetric), the same list as
    ``export_dataloader``.

    Returns the config path.
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS
    root = osp.dirname(setup['config'])
    cam_ckpt = None
    text = SEED_CONFIG.format(
        base=osp.basename(setup['config']),
        backbone=TINY_BACKBONE,
        scales=list(scales),
        bg_threshold=float(bg_threshold),
        cam_module='cam_model' if fusion else None,
        cam_checkpoint=None,
        crf="dict(type='dense_crf')" if crf else None,
        data_root=setup['data_root'])
    path = osp.join(root, 'seed_cfg.py')
    with open(path, 'w') as f:
        f.write(text)
    if fusion:
        torch.manual_seed(seed)
        cam = MODELS.build(Config.fromfile(path).cam_model)
        cam_ckpt = osp.join(root, 'cam.pth')
        torch.save(dict(state_dict=cam.state_dict(), meta=dict()), cam_ckpt)
        with open(path, 'a') as f:
            f.write(f'model.update(cam_checkpoint={cam_ckpt!r})\n')
    return path
