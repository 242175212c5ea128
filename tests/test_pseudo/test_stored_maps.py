# Copyright (c) mmbas contributors. All rights reserved.
"""StoredMapsInferencer: the label step on maps stored by an export."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

import mmbas  # noqa: F401
from mmbas.pseudo.export import (build_export_dataset, export_pseudo_labels,
                                 load_checkpoint_strict)
from mmbas.pseudo.seeds import seed_labels, seed_logits
from mmbas.testing.export_setup import make_export_setup, make_seed_setup


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    init_default_scope('mmseg')
    root = tmp_path_factory.mktemp('stored')
    setup = make_export_setup(str(root / 'toy'), num_train=4)
    cfg = Config.fromfile(
        make_seed_setup(setup, fusion=False, crf=False, scales=(1.0, 0.5)))
    model = MODELS.build(cfg.model)
    load_checkpoint_strict(model, setup['checkpoint'])
    dataset = build_export_dataset(cfg)[0]
    out = str(root / 'maps')
    export_pseudo_labels(
        model.eval(),
        dataset,
        out,
        save_scores=True,
        num_workers=0,
        progress=False)
    return setup, dataset, out


def test_labels_from_stored_maps(exported, tmp_path):
    setup, dataset, maps_dir = exported
    for thr in (0.2, 0.45):
        model = MODELS.build(
            dict(
                type='StoredMapsInferencer',
                maps_dir=maps_dir,
                num_classes=20,
                bg_threshold=thr))
        # any checkpoint is accepted and ignored (no weights)
        load_checkpoint_strict(model, setup['checkpoint'])
        out = str(tmp_path / f'thr{thr}')
        summary = export_pseudo_labels(
            model, dataset, out, num_workers=0, progress=False)
        assert summary['written'] == len(dataset)
        for f in sorted(os.listdir(maps_dir)):
            if not f.endswith('.npz'):
                continue
            with np.load(osp.join(maps_dir, f)) as data:
                maps = torch.from_numpy(data['maps'].astype(np.float32))
                values = data['classes']
            loc = torch.zeros((20, ) + tuple(maps.shape[-2:]))
            loc[torch.from_numpy(values - 1)] = maps
            want = seed_labels(seed_logits(loc, thr))[0].numpy()
            got = np.asarray(
                Image.open(osp.join(out, f.replace('.npz', '.png'))))
            np.testing.assert_array_equal(got, want)


def test_missing_maps_name_the_file(exported, tmp_path):
    _, dataset, _ = exported
    model = MODELS.build(
        dict(
            type='StoredMapsInferencer',
            maps_dir=str(tmp_path / 'none'),
            num_classes=20))
    summary = export_pseudo_labels(
        model, dataset, str(tmp_path / 'out'), num_workers=0, progress=False)
    assert summary['failed'] == len(dataset)
    assert 'none' in summary['failed_images'][0]
    assert '--save-scores' in summary['failed_images'][0]
