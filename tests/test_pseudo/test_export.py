# Copyright (c) mmbas contributors. All rights reserved.
"""The export library (mmbas.pseudo.export / session / writer)."""
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
from mmbas.pseudo.export import (ExportError, build_export_dataset,
                                 export_items_from_dataset,
                                 export_pseudo_labels, load_checkpoint_strict)
from mmbas.pseudo.writer import (encode_label_png, encode_scores,
                                 remove_stale_temp_files)
from mmbas.testing.export_setup import StubSeedModel, make_export_setup
from mmbas.utils.errors import CheckpointMismatchError

VOC_NAMES = ('background', ) + tuple(f'c{i}' for i in range(20))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return make_export_setup(str(tmp_path_factory.mktemp('export')))


@pytest.fixture(scope='module')
def cfg(setup):
    from mmengine.config import Config
    return Config.fromfile(setup['config'])


@pytest.fixture(scope='module')
def seed_model(setup, cfg):
    """The tiny BAS model in a SeedInferencer (3 scales + flip)."""
    from mmseg.registry import MODELS
    model = MODELS.build(
        dict(type='SeedInferencer', module=cfg.model, scales=[1.0, 0.5, 1.5]))
    load_checkpoint_strict(model, setup['checkpoint'])
    return model.eval()


@pytest.fixture(scope='module')
def dataset(cfg):
    return build_export_dataset(cfg)[0]


@pytest.fixture(scope='module')
def items(dataset):
    return export_items_from_dataset(dataset)


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


def test_summary_hand_checked(dataset, items, tmp_path):
    """Stub maps: the lowest image class on the top H//2 rows, background
    below."""
    out = str(tmp_path / 'out')

    def export_stub(ds):
        return export_pseudo_labels(
            StubSeedModel(20), ds, out, num_workers=0, progress=False)

    sub = dataset.get_subset([0, 1, 2])
    summary = export_stub(sub)
    expected = np.zeros(22, np.int64)
    for name, path, labels in items[:3]:
        h, w = cv2.imread(path).shape[:2]
        want = np.zeros((h, w), np.uint8)
        want[:h // 2] = min(labels) + 1
        got = np.asarray(Image.open(osp.join(out, name + '.png')))
        np.testing.assert_array_equal(got, want)
        expected[0] += (h - h // 2) * w
        expected[min(labels) + 1] += (h // 2) * w
    assert summary['written'] == 3 and summary['skipped'] == 0
    assert summary['failed'] == 0 and summary['no_foreground'] == 0
    assert list(summary['class_pixels'].values()) == expected.tolist()
    assert summary['total_pixels'] == expected.sum()
    share = summary['class_pixel_share']
    assert share['background'] == pytest.approx(
        expected[0] / expected.sum(), abs=1e-6)
    on_disk = json.load(open(osp.join(out, 'export_summary.json')))
    assert on_disk['class_pixels'] == summary['class_pixels']
    # rerun: everything written is skipped before inference
    again = export_stub(sub)
    assert again['written'] == 0 and again['skipped'] == 3
    # the skipped masks are read back: the summary describes the folder
    assert again['class_pixels'] == summary['class_pixels']
    assert again['no_foreground'] == summary['no_foreground']
    # a finished mask that no longer decodes fails with the fix named
    name = items[0][0]
    with open(osp.join(out, name + '.png'), 'wb') as f:
        f.write(b'not a png')
    broken = export_stub(sub)
    assert broken['skipped'] == 2 and broken['failed'] == 1
    assert broken['failed_images'][0].startswith(f'{name}: finished mask')
    assert 'delete it to export the image again' in \
        broken['failed_images'][0]


def test_shards_cover_the_list_once(dataset, tmp_path):
    """Rank r of w exports indices r::w (no padding): the shards' counts
    add up to the list, every image once."""
    out = str(tmp_path / 'out')
    counts = [
        export_pseudo_labels(
            StubSeedModel(20),
            dataset,
            out,
            num_workers=0,
            progress=False,
            rank=r,
            world_size=4)['rank_counts'] for r in range(4)
    ]
    assert [c['shard'] for c in counts
            ] == [len(range(r, len(dataset), 4)) for r in range(4)]
    assert sum(c['written'] for c in counts) == len(dataset)


def test_interrupted_export_resumes_byte_identical(seed_model, dataset, items,
                                                   tmp_path, interrupt_writes):
    kw = dict(save_scores=True, num_workers=0, progress=False)
    ref = str(tmp_path / 'ref')
    export_pseudo_labels(seed_model, dataset, ref, **dict(kw, num_workers=1))
    reference = read_dir(ref)
    assert len(reference) == 2 * len(items)

    # "kill" the export while the 4th file is being written: its temp file
    # is half written and never moved to its final name.
    out = str(tmp_path / 'out')
    interrupt_writes(3)
    with pytest.raises(RuntimeError, match='simulated kill'):
        export_pseudo_labels(seed_model, dataset, out, **kw)
    interrupt_writes(None)
    partial = read_dir(out)
    assert 0 < len(partial) < len(reference)
    for name, data in partial.items():  # nothing truncated under a name
        assert data == reference[name]
    assert os.listdir(osp.join(out, '.tmp'))  # the torn temp file
    assert not osp.exists(osp.join(out, 'export_summary.json'))
    summary = export_pseudo_labels(seed_model, dataset, out, **kw)
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


def test_unwritable_out_dir(dataset, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(ExportError, match='is not writable'):
        export_pseudo_labels(StubSeedModel(), dataset, str(blocker / 'out'))


def test_wrong_checkpoint(setup, cfg, seed_model, tmp_path):
    from mmseg.registry import MODELS
    bas_model = MODELS.build(cfg.model)
    for model in (bas_model, seed_model):  # bare and wrapped
        with pytest.raises(CheckpointMismatchError) as err:
            load_checkpoint_strict(model, setup['bad_checkpoint'])
        msg = str(err.value)
        assert setup['bad_checkpoint'] in msg and 'shape mismatches' in msg
        assert 'head.generator.weight' in msg and '\n' not in msg
    sd = dict(bas_model.state_dict())
    sd.pop('head.generator.weight')
    sd['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'keys.pth')
    torch.save(sd, path)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'1 missing keys: head.generator'
            r'.weight; 1 unexpected keys: extra.weight'):
        load_checkpoint_strict(bas_model, path)
    # a file whose unpickling would run code is read weights-only
    marker = tmp_path / 'ran'

    class Payload:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    torch.save(
        dict(state_dict=bas_model.state_dict(), meta=Payload()),
        str(tmp_path / 'evil.pth'))
    load_checkpoint_strict(bas_model, str(tmp_path / 'evil.pth'))
    assert not marker.exists()


def test_masks_load_in_pascal_voc_dataset(setup, seed_model, dataset, items,
                                          tmp_path):
    from mmseg.datasets import PascalVOCDataset
    out = str(tmp_path / 'masks')
    export_pseudo_labels(
        seed_model, dataset, out, num_workers=0, progress=False)
    ds = PascalVOCDataset(
        data_root=setup['data_root'],
        data_prefix=dict(img_path='JPEGImages', seg_map_path=out),
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


def test_split_list(cfg, dataset, items, tmp_path):
    pick = tmp_path / 'pick.txt'
    pick.write_text(f'{items[2][0]}\n{items[0][0]}\n')
    ds, got = build_export_dataset(cfg, str(pick))  # a .txt ann_file
    assert [it[0] for it in got] == [items[2][0], items[0][0]]
    assert len(ds) == 2
    with pytest.raises(ExportError, match=r'does not exist'):
        build_export_dataset(cfg, str(tmp_path / 'missing.txt'))
