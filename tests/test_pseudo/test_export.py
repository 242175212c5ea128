# Copyright (c) mmbas contributors. All rights reserved.
"""Pseudo-label export: encoding, summary, resume after an interruption,
errors, and loading the masks with mmseg's PascalVOCDataset."""
import io
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import mmbas  # noqa: F401
from mmbas.pseudo import export as export_mod
from mmbas.pseudo import writer as writer_mod
from mmbas.pseudo.export import (ExportError, export_items_from_dataset,
                                 export_pseudo_labels, load_checkpoint_strict,
                                 remove_stale_temp_files, seed_maps_fn)
from mmbas.pseudo.export_testing import StubSeedModel, make_export_setup
from mmbas.pseudo.writer import encode_label_png, encode_scores

VOC_NAMES = ('background', ) + tuple(f'c{i}' for i in range(20))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return make_export_setup(str(tmp_path_factory.mktemp('export')))


@pytest.fixture(scope='module')
def bas_model(setup):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    model = MODELS.build(Config.fromfile(setup['config']).model)
    load_checkpoint_strict(model, setup['checkpoint'])
    return model.eval()


@pytest.fixture(scope='module')
def items(setup):
    from mmseg.registry import DATASETS
    ds = DATASETS.build(
        dict(type='VOCClsDataset',
             data_root=setup['data_root'],
             ann_file='ImageSets/Segmentation/trainaug.txt',
             data_prefix=dict(img_path='JPEGImages'),
             pipeline=[]))
    return export_items_from_dataset(ds)


def read_dir(path):
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path)) if f.endswith(('.png', '.npz'))
    }


def test_encoding_is_deterministic():
    label = np.random.default_rng(0).integers(0, 21, (37, 53)).astype(np.uint8)
    label[:3] = 255
    png = encode_label_png(label)
    assert png == encode_label_png(label.copy())
    img = Image.open(io.BytesIO(png))
    assert img.mode == 'P' and img.getpalette()[3:6] == [128, 0, 0]
    np.testing.assert_array_equal(np.asarray(img), label)
    maps = np.random.default_rng(1).random((2, 5, 6)).astype(np.float32)
    npz = encode_scores([3, 7], maps)
    assert npz == encode_scores([3, 7], maps)  # fixed zip timestamps
    loaded = np.load(io.BytesIO(npz))
    assert loaded['maps'].dtype == np.float16
    np.testing.assert_array_equal(loaded['classes'], [3, 7])
    np.testing.assert_allclose(loaded['maps'], maps, atol=1e-3)


def test_maps_only_matches_forward_maps(bas_model):
    x = torch.randn(2, 3, 40, 48)
    with torch.inference_mode():
        fast, _ = seed_maps_fn(bas_model)(x)
        full, _ = bas_model.forward_maps(x)
    torch.testing.assert_close(fast, full, rtol=0, atol=0)


def test_summary_hand_checked(items, tmp_path):
    """Stub maps: the first class on the top H//2 rows, background below."""
    chosen = list(items[:3])
    chosen.append(('no_label', chosen[0][1], []))
    chosen.append(('bad_label', chosen[0][1], [99]))
    chosen.append(('missing', str(tmp_path / 'nope.jpg'), [1]))
    out = str(tmp_path / 'out')

    def export_stub(images):
        return export_pseudo_labels(StubSeedModel(20), images, out,
                                    VOC_NAMES, scales=[1.0], flip=False,
                                    num_workers=0, progress=False)

    summary = export_stub(chosen)
    expected = np.zeros(22, np.int64)
    for name, path, labels in items[:3]:
        h, w = cv2.imread(path).shape[:2]
        want = np.zeros((h, w), np.uint8)
        want[:h // 2] = labels[0] + 1
        got = np.asarray(Image.open(osp.join(out, name + '.png')))
        np.testing.assert_array_equal(got, want)
        expected[0] += (h - h // 2) * w
        expected[labels[0] + 1] += (h // 2) * w
    assert summary['written'] == 3 and summary['skipped'] == 0
    assert summary['failed'] == 3 and summary['no_foreground'] == 0
    failed = '\n'.join(summary['failed_images'])
    assert 'no_label: no positive image-level label' in failed
    assert 'bad_label: label id [99] out of range' in failed
    assert 'missing: image file' in failed and 'nope.jpg is missing' in failed
    assert list(summary['class_pixels'].values()) == expected.tolist()
    assert summary['total_pixels'] == expected.sum()
    share = summary['class_pixel_share']
    assert share['background'] == pytest.approx(expected[0] / expected.sum(),
                                                abs=1e-6)
    on_disk = json.load(open(osp.join(out, 'export_summary.json')))
    assert on_disk['class_pixels'] == summary['class_pixels']
    # rerun: everything written is skipped, the bad ones fail again
    again = export_stub(chosen)
    assert again['written'] == 0 and again['skipped'] == 3
    assert again['failed'] == 3
    # the skipped masks are read back: the summary describes the folder
    assert again['class_pixels'] == summary['class_pixels']
    assert again['no_foreground'] == summary['no_foreground']
    # a finished mask that no longer decodes fails with the fix named
    name = chosen[0][0]
    with open(osp.join(out, name + '.png'), 'wb') as f:
        f.write(b'not a png')
    broken = export_stub(chosen[:3])
    assert broken['skipped'] == 2 and broken['failed'] == 1
    assert broken['failed_images'][0].startswith(f'{name}: finished mask')
    assert 'delete it to export the image again' in \
        broken['failed_images'][0]


def test_interrupted_export_resumes_byte_identical(bas_model, items, tmp_path,
                                                   monkeypatch):
    kw = dict(scales=[1.0, 0.5, 1.5],
              flip=True,
              save_scores=True,
              num_workers=0,
              progress=False)
    ref = str(tmp_path / 'ref')
    export_pseudo_labels(bas_model, items, ref, VOC_NAMES,
                         **dict(kw, num_workers=1))
    reference = read_dir(ref)
    assert len(reference) == 2 * len(items)

    # "kill" the export while the 4th file is being written: its temp file
    # is half written and never moved to its final name.
    out = str(tmp_path / 'out')
    calls = []
    real_write = writer_mod.atomic_write

    def dying_write(path, data, tmp_dir):
        if len(calls) == 3:
            with open(osp.join(tmp_dir, f'{osp.basename(path)}.1.tmp'),
                      'wb') as f:
                f.write(data[:len(data) // 2])
            raise RuntimeError('simulated kill')
        calls.append(path)
        real_write(path, data, tmp_dir)

    monkeypatch.setattr(writer_mod, 'atomic_write', dying_write)
    with pytest.raises(RuntimeError, match='simulated kill'):
        export_pseudo_labels(bas_model, items, out, VOC_NAMES, **kw)
    monkeypatch.setattr(writer_mod, 'atomic_write', real_write)
    partial = read_dir(out)
    assert 0 < len(partial) < len(reference)
    for name, data in partial.items():  # nothing truncated under a name
        assert data == reference[name]
    assert os.listdir(osp.join(out, '.tmp'))  # the torn temp file
    assert not osp.exists(osp.join(out, 'export_summary.json'))
    summary = export_pseudo_labels(bas_model, items, out, VOC_NAMES, **kw)
    assert summary['skipped'] == sum(f.endswith('.png') for f in partial)
    assert summary['written'] + summary['skipped'] == len(items)
    assert read_dir(out) == reference
    ref_summary = json.load(open(osp.join(ref, 'export_summary.json')))
    for key in ('class_pixels', 'total_pixels', 'no_foreground'):
        assert summary[key] == ref_summary[key], key
    # the torn temp file is gone with .tmp: same file set as the reference
    assert sorted(os.listdir(out)) == sorted(os.listdir(ref))
    assert not osp.exists(osp.join(out, '.tmp'))


def test_remove_stale_temp_files_spares_newer_files(tmp_path):
    tmp_dir = tmp_path / '.tmp'
    tmp_dir.mkdir()
    old, new = tmp_dir / 'a.png.11.tmp', tmp_dir / 'b.png.12.tmp'
    old.write_bytes(b'torn')
    new.write_bytes(b'being written')
    os.utime(old, (1000.0, 1000.0))
    os.utime(new, (3000.0, 3000.0))
    assert remove_stale_temp_files(str(tmp_dir), older_than=2000.0) == 1
    assert sorted(os.listdir(tmp_dir)) == ['b.png.12.tmp']  # dir kept
    new.unlink()
    assert remove_stale_temp_files(str(tmp_dir), older_than=2000.0) == 0
    assert not tmp_dir.exists()  # empty: removed
    assert remove_stale_temp_files(str(tmp_dir), 2000.0) == 0  # no dir: ok


def test_unwritable_out_dir(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(ExportError, match='is not writable'):
        export_pseudo_labels(StubSeedModel(), [], str(blocker / 'out'),
                             VOC_NAMES)


def test_wrong_checkpoint(setup, bas_model, tmp_path):
    with pytest.raises(ExportError) as err:
        load_checkpoint_strict(bas_model, setup['bad_checkpoint'])
    msg = str(err.value)
    assert setup['bad_checkpoint'] in msg and 'shape mismatches' in msg
    assert 'head.generator.weight' in msg and '\n' not in msg
    sd = dict(bas_model.state_dict())
    sd.pop('head.generator.weight')
    sd['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'keys.pth')
    torch.save(sd, path)
    with pytest.raises(ExportError,
                       match=r'1 missing keys: head.generator'
                       r'.weight; 1 unexpected keys: extra.weight'):
        load_checkpoint_strict(bas_model, path)


def test_masks_load_in_pascal_voc_dataset(setup, bas_model, items, tmp_path):
    from mmseg.datasets import PascalVOCDataset
    out = str(tmp_path / 'masks')
    export_pseudo_labels(bas_model,
                         items,
                         out,
                         VOC_NAMES,
                         scales=[1.0],
                         flip=False,
                         num_workers=0,
                         progress=False)
    ds = PascalVOCDataset(data_root=setup['data_root'],
                          data_prefix=dict(img_path='JPEGImages',
                                           seg_map_path=out),
                          ann_file='ImageSets/Segmentation/trainaug.txt',
                          pipeline=[
                              dict(type='LoadImageFromFile'),
                              dict(type='LoadAnnotations'),
                              dict(type='PackSegInputs')
                          ])
    assert len(ds) == len(items)
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        seg = sample.gt_sem_seg.data
        assert seg.shape[-2:] == ds[i]['inputs'].shape[-2:]
        values = set(seg.unique().tolist())
        labels = {v + 1 for v in items[i][2]}
        assert values <= labels | {0, 255} and values & labels


def test_main_reports_failed_images(setup, tmp_path, capsys):
    import shutil
    root = str(tmp_path / 'data')
    shutil.copytree(osp.dirname(osp.dirname(setup['data_root'])), root)
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    ids = [ln.strip() for ln in open(setup['list'])]
    with open(osp.join(data_root, 'JPEGImages', ids[1] + '.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    os.remove(osp.join(data_root, 'JPEGImages', ids[2] + '.jpg'))
    out = str(tmp_path / 'out')
    rc = export_mod.main([
        setup['config'], setup['checkpoint'], '--out', out, '--scales', '1.0',
        '--no-flip', '--num-workers', '0', '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}'
    ])
    err = capsys.readouterr().err
    assert rc == 1
    assert f'{ids[1]}: image file' in err and 'is unreadable' in err
    assert f'{ids[2]}: image file' in err and 'is missing' in err
    assert '2 image(s) failed' in err
    pngs = sorted(f for f in os.listdir(out) if f.endswith('.png'))
    assert pngs == sorted(i + '.png' for i in ids if i not in ids[1:3])


def test_seed_inferencer_config_is_unwrapped(setup, capsys):
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmbas.pseudo.export import unwrap_seed_model
    bas_cfg = Config.fromfile(setup['config']).model
    wrapped = MODELS.build(
        dict(type='SeedInferencer', module=bas_cfg, crf=dict()))
    inner = unwrap_seed_model(wrapped)
    assert inner is wrapped.module and hasattr(inner, 'forward_maps')
    assert 'plain multi-scale seeds' in capsys.readouterr().err
    load_checkpoint_strict(inner, setup['checkpoint'])  # training ckpt fits


def test_seeds_to_label_uncertain_region_is_ignored():
    import torch

    from mmbas.pseudo.export import seeds_to_label
    seeds = torch.zeros(3, 1, 4)
    seeds[1, 0] = torch.tensor([0.1, 0.2, 0.4, 0.9])
    label, _ = seeds_to_label(seeds, [1], bg_threshold=0.17)
    assert label.tolist() == [[0, 2, 2, 2]]
    label, _ = seeds_to_label(seeds, [1], bg_threshold=0.17,
                              fg_threshold=0.30)
    assert label.tolist() == [[0, 255, 2, 2]]
