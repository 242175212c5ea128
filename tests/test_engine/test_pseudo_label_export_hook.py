# Copyright (c) mmbas contributors. All rights reserved.
"""PseudoLabelExportHook writes the export tool's PNGs from test
predictions, skips finished images and logs / saves the summary."""
import json
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, HOOKS, MODELS

import mmbas  # noqa: F401
from mmbas.pseudo.export import (export_items_from_dataset,
                                 export_pseudo_labels, load_checkpoint_strict)
from mmbas.pseudo.export_testing import make_export_setup
from mmbas.pseudo.writer import encode_label_png


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def test_hook_writes_the_export_pngs(tmp_path):
    init_default_scope('mmseg')
    setup = make_export_setup(str(tmp_path / 'toy'), num_train=4)
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(setup['config']).model).eval()
    load_checkpoint_strict(model, setup['checkpoint'])
    dataset = DATASETS.build(
        dict(type='VOCClsDataset',
             data_root=setup['data_root'],
             ann_file='ImageSets/Segmentation/trainaug.txt',
             data_prefix=dict(img_path='JPEGImages'),
             test_mode=True,
             pipeline=[
                 dict(type='LoadImageFromFile'),
                 dict(type='PackBASInputs')
             ]))
    classes = dataset.metainfo['classes']
    out = str(tmp_path / 'hook')
    hook = HOOKS.build(
        dict(type='PseudoLabelExportHook', out_dir=out, save_scores=True))
    logger = _Logger()
    runner = SimpleNamespace(test_dataloader=SimpleNamespace(dataset=dataset),
                             logger=logger)
    hook.before_test_epoch(runner)

    def run_epoch():
        for i in range(len(dataset)):
            batch = model.data_preprocessor(
                {
                    k: [v]
                    for k, v in dataset[i].items()
                }, False)
            with torch.no_grad():
                outputs = model.predict(batch['inputs'], batch['data_samples'])
            hook.after_test_iter(runner, i, batch, outputs)
        hook.after_test_epoch(runner, {})

    run_epoch()
    # single scale, no flip: the export tool writes the same label PNGs
    ref = str(tmp_path / 'tool')
    export_pseudo_labels(model,
                         export_items_from_dataset(dataset),
                         ref,
                         classes,
                         scales=[1.0],
                         flip=False,
                         num_workers=0,
                         progress=False)
    pngs = sorted(f for f in os.listdir(ref) if f.endswith('.png'))
    assert len(pngs) == len(dataset)
    for f in pngs:
        assert open(osp.join(out, f),
                    'rb').read() == open(osp.join(ref, f), 'rb').read()
        assert osp.isfile(osp.join(out, f.replace('.png', '.npz')))
    summary = json.load(open(osp.join(out, 'export_summary.json')))
    assert summary['written'] == len(dataset) and summary['failed'] == 0
    assert 'pixel share per class' in logger.lines[-1]
    assert not osp.exists(osp.join(out, '.tmp'))
    # a second test run skips the finished images; a torn temp file that a
    # killed run left behind (older than this run) is removed at the end
    hook.before_test_epoch(runner)
    torn = osp.join(out, '.tmp', f'{osp.splitext(pngs[0])[0]}.png.1.tmp')
    with open(torn, 'wb') as f:
        f.write(b'\x89PNG')
    os.utime(torn, (1000.0, 1000.0))
    run_epoch()
    assert hook.summary['skipped'] == len(dataset)
    assert hook.summary['written'] == 0
    assert not osp.exists(osp.join(out, '.tmp'))


def test_hook_label_encoding(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    hook = HOOKS.build(
        dict(type='PseudoLabelExportHook', out_dir=str(tmp_path)))
    names = ('background', 'a', 'b')
    runner = SimpleNamespace(test_dataloader=SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(classes=names))),
                             logger=MMLogger.get_current_instance())
    hook.before_test_epoch(runner)
    label = np.array([[0, 1, 2], [255, 2, 2]])
    ds = SegDataSample(metainfo=dict(img_path='/x/img_7.jpg'))
    ds.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
    hook.after_test_iter(
        runner, 0, None,
        [ds, SegDataSample(metainfo=dict(img_path='/x/empty.jpg'))])
    hook.after_test_epoch(runner)
    assert open(tmp_path / 'img_7.png',
                'rb').read() == encode_label_png(label.astype(np.uint8))
    s = hook.summary
    assert s['written'] == 1 and s['failed'] == 1
    assert s['class_pixels'] == dict(background=1, a=1, b=3, ignore=1)
    assert 'empty: prediction has no pred_sem_seg' in s['failed_images'][0]
