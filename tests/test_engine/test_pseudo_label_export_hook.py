# Copyright (c) mmbas contributors. All rights reserved.
"""PseudoLabelExportHook in a real test run (the export session of the export
tool)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.pseudo.export import (build_export_dataset, export_pseudo_labels,
                                 load_checkpoint_strict)
from mmbas.pseudo.session import ExportSession
from mmbas.pseudo.writer import encode_label_png
from mmbas.testing.export_setup import make_export_setup, make_seed_setup

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    init_default_scope('mmseg')
    setup = make_export_setup(
        str(tmp_path_factory.mktemp('hook')), num_train=5)
    setup['seed_config'] = make_seed_setup(
        setup, fusion=False, crf=False, scales=(1.0, 0.5))
    return setup


def _files(path):
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path)) if f.endswith(('.png', '.npz'))
    }


def _runner(setup, out, work_dir):
    cfg = Config.fromfile(setup['seed_config'])
    cfg.work_dir = work_dir
    cfg.load_from = setup['checkpoint']
    cfg.custom_hooks = [
        dict(type='PseudoLabelExportHook', out_dir=out, save_scores=True)
    ]
    cfg.default_hooks = dict(logger=dict(type='LoggerHook'))
    return Runner.from_cfg(cfg)


def test_hook_writes_the_export_pngs_and_skips_before_inference(
        setup, tmp_path):
    out = str(tmp_path / 'hook')
    runner = _runner(setup, out, str(tmp_path / 'work'))
    calls = []
    model = runner.model
    real = model.test_step
    model.test_step = lambda data: calls.append(1) or real(data)
    runner.test()
    n = len(runner.test_dataloader.dataset)
    hook = [
        h for h in runner.hooks if type(h).__name__ == 'PseudoLabelExportHook'
    ][0]
    assert len(calls) == n
    assert hook.summary['written'] == n and hook.summary['failed'] == 0
    assert not osp.exists(osp.join(out, '.tmp'))
    # the export tool with the same config writes the same files
    cfg = Config.fromfile(setup['seed_config'])
    from mmseg.registry import MODELS
    seed_model = MODELS.build(cfg.model)
    load_checkpoint_strict(seed_model, setup['checkpoint'])
    ref = str(tmp_path / 'tool')
    export_pseudo_labels(
        seed_model.eval(),
        build_export_dataset(cfg)[0],
        ref,
        save_scores=True,
        num_workers=0,
        progress=False)
    assert _files(out) == _files(ref) and len(_files(ref)) == 2 * n

    # a second run skips the finished images BEFORE inference; a torn temp
    # file a killed run left behind is removed at the end
    names = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    for f in names[:2]:
        os.remove(osp.join(out, f))
    os.makedirs(osp.join(out, '.tmp'), exist_ok=True)
    torn = osp.join(out, '.tmp', f'{names[0]}.1.tmp')
    with open(torn, 'wb') as f:
        f.write(b'\x89PNG')
    os.utime(torn, (1000.0, 1000.0))
    calls.clear()
    runner.test()
    assert len(calls) == 2  # only the two missing masks ran
    assert hook.summary['written'] == 2 and hook.summary['skipped'] == n - 2
    assert _files(out) == _files(ref)
    assert not osp.exists(osp.join(out, '.tmp'))
    summary = json.load(open(osp.join(out, 'export_summary.json')))
    full = json.load(open(osp.join(ref, 'export_summary.json')))
    for key in ('class_pixels', 'total_pixels', 'no_foreground'):
        assert summary[key] == full[key], key
    # all masks exist: the test still scores every image, nothing written
    calls.clear()
    metrics = runner.test()
    assert len(calls) == n and 'mIoU' in metrics
    assert hook.summary['written'] == 0 and hook.summary['skipped'] == n
    assert _files(out) == _files(ref)


def test_session_label_encoding(tmp_path):
    from mmengine.structures import PixelData
    session = ExportSession(str(tmp_path), ('background', 'a', 'b'))
    label = np.array([[0, 1, 2], [255, 2, 2]])
    ds = SegDataSample(metainfo=dict(img_path='/x/img_7.jpg'))
    ds.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
    session.submit_sample(ds)
    session.submit_sample(SegDataSample(metainfo=dict(img_path='/x/e.jpg')))
    s = session.finish()
    assert open(tmp_path / 'img_7.png',
                'rb').read() == encode_label_png(label.astype(np.uint8))
    assert s['written'] == 1 and s['failed'] == 1
    assert s['class_pixels'] == dict(background=1, a=1, b=3, ignore=1)
    assert 'e: prediction has no pred_sem_seg' in s['failed_images'][0]


def test_every_rank_takes_rank0s_listing_of_finished_masks(
        setup, tmp_path, monkeypatch):
    """Rank 1 reaches before_test_epoch after rank 0 wrote two masks of this
    run: it must loop over rank 0's listing (made before any rank wrote),
    not its own, else its loop and collectives differ from rank 0's."""
    from types import SimpleNamespace

    from mmengine.logging import MMLogger

    from mmbas.engine.hooks import pseudo_label_export_hook as module
    from mmbas.engine.hooks.pseudo_label_export_hook import \
        PseudoLabelExportHook
    from mmbas.pseudo.session import sample_name
    cfg = Config.fromfile(setup['seed_config'])
    loader = Runner.build_dataloader(cfg.test_dataloader)
    dataset = loader.dataset
    names = [
        sample_name(dataset.get_data_info(i)) for i in range(len(dataset))
    ]
    out = tmp_path / 'out'
    out.mkdir()
    for name in names[0:4:2]:  # rank 0's first two images, just written
        (out / f'{name}.png').write_bytes(
            encode_label_png(np.zeros((4, 4), np.uint8)))
    sent = []

    def broadcast_object_list(data, src=0):
        sent.append((list(data), src))
        data[0] = listing  # what rank 0 sent

    monkeypatch.setattr(module, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(
        module, 'broadcast_object_list', broadcast_object_list, raising=False)
    runner = SimpleNamespace(
        test_loop=SimpleNamespace(dataloader=loader),
        logger=MMLogger.get_current_instance())
    hook = PseudoLabelExportHook(str(out))
    listing = []  # rank 0 found an empty folder
    hook.before_test_epoch(runner)
    hook.session.abort()
    # rank 1 waited for rank 0's listing and kept the full image list
    assert sent == [([None], 0)]
    assert runner.test_loop.dataloader is loader and hook._done == set()
    listing = [2]  # rank 0 found image 2 finished by an earlier run
    hook.before_test_epoch(runner)
    hook.session.abort()
    rest = runner.test_loop.dataloader.dataset
    assert [sample_name(rest.get_data_info(i))
            for i in range(len(rest))] == names[:2] + names[3:]
    assert hook._done == {names[2]}


@pytest.mark.slow
def test_two_ranks_count_each_image_once(run_tool, setup, tmp_path):
    """5 images on 2 ranks: mmengine's sampler pads rank 1 with a repeat of
    the first image; the summary still counts 5 images, and the masks
    equal a single-process run's."""
    ids = [
        ln.strip() for ln in open(
            osp.join(setup['data_root'], 'ImageSets', 'Segmentation',
                     'train.txt'))
    ]
    assert len(ids) % 2 == 1, ids
    port = run_tool.free_port()
    outs = {}
    for nproc in (1, 2):
        out = str(tmp_path / f'ranks{nproc}')
        config = str(tmp_path / f'hook{nproc}.py')
        with open(config, 'w') as f:
            f.write(f"_base_ = [{setup['seed_config']!r}]\n"
                    "custom_hooks = [dict(type='PseudoLabelExportHook', "
                    f"out_dir={out!r})]\n")
        cmd = [osp.join(ROOT, 'tools', 'test.py')]
        if nproc == 2:
            cmd = [osp.join(ROOT, 'tools', 'dist_test.sh')]
        cmd += [config, setup['checkpoint']]
        if nproc == 2:
            cmd.append('2')
        cmd += ['--work-dir', str(tmp_path / f'work{nproc}')]
        # the whole log on failure (head: the ranks' tracebacks; tail: the
        # launcher's summary); cwd: mmengine's .dist_test/ goes to tmp
        run_tool(cmd, check=True, env=dict(PORT=port), cwd=str(tmp_path))
        outs[nproc] = out
    one, two = (
        json.load(open(osp.join(outs[k], 'export_summary.json')))
        for k in (1, 2))
    assert one['written'] == two['written'] == len(ids)
    assert two['class_pixels'] == one['class_pixels']
    assert _files(outs[2]) == _files(outs[1])
