# Copyright (c) mmbas contributors. All rights reserved.
"""Seed refiners in the seed path: relation labels and the IRN walk."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

import mmbas  # noqa: F401
from mmbas.pseudo import make_relation_labels
from mmbas.pseudo.export import (build_export_dataset, export_pseudo_labels,
                                 load_checkpoint_strict)
from mmbas.pseudo.random_walk import refine_maps
from mmbas.testing.export_setup import make_export_setup, make_seed_setup

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def seeds(tmp_path_factory):
    init_default_scope('mmseg')
    setup = make_export_setup(
        str(tmp_path_factory.mktemp('refine')), num_train=3)
    cfg = Config.fromfile(
        make_seed_setup(setup, fusion=False, crf=False, scales=(1.0, 0.5)))
    dataset = build_export_dataset(cfg)[0]
    return setup, cfg, dataset


def _seed_model(setup, cfg, **kw):
    model = MODELS.build(dict(cfg.model, **kw))
    load_checkpoint_strict(model, setup['checkpoint'])
    return model.eval()


def _predict(model, dataset, i):
    data = dataset[i]
    return model.test_step(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))[0]


def test_relation_label_refiner_exports_relation_labels(seeds, tmp_path):
    setup, cfg, dataset = seeds
    plain = _seed_model(setup, cfg)
    # thresholds inside the range of the random-init toy maps
    fg, bg = 0.985, 0.975
    model = _seed_model(
        setup,
        cfg,
        refiner=dict(
            type='RelationLabelRefiner',
            fg_threshold=fg,
            bg_threshold=bg,
            use_crf=False))
    out = str(tmp_path / 'rel')
    summary = export_pseudo_labels(
        model, dataset, out, num_workers=0, progress=False)
    assert summary['written'] == len(dataset)
    seen = set()
    for i in range(len(dataset)):
        ref = _predict(plain, dataset, i)
        classes = ref.pred_classes
        img = mmcv.imread(ref.img_path, channel_order='rgb')
        want = make_relation_labels(
            img,
            ref.loc_maps[classes].numpy(),
            classes.tolist(),
            fg_thr=fg,
            bg_thr=bg,
            use_crf=False)
        name = osp.splitext(osp.basename(ref.img_path))[0]
        got = np.asarray(Image.open(osp.join(out, name + '.png')))
        np.testing.assert_array_equal(got, want)
        seen |= set(np.unique(got).tolist())
    assert {0, 255} <= seen  # background and the unknown band exist


def test_irn_walk_refiner_refines_the_maps(seeds):
    setup, cfg, dataset = seeds
    irn_cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'toy', 'irn_r18_voc_toy.py')).model
    torch.manual_seed(0)
    irn = MODELS.build(irn_cfg).eval()
    refiner = MODELS.build(dict(type='IRNWalkRefiner', irn=irn, exp_times=3))
    plain = _seed_model(setup, cfg)
    model = _seed_model(setup, cfg, refiner=refiner, bg_threshold=0.22)
    # the refiner's weights are its own: a BAS checkpoint still loads
    # strictly into the wrapper
    for i in range(len(dataset)):
        ref = _predict(plain, dataset, i)
        out = _predict(model, dataset, i)
        classes = ref.pred_classes
        size = tuple(ref.loc_maps.shape[-2:])
        edge = refiner.boundary(ref, size)
        assert edge.shape == ((size[0] + 3) // 4, (size[1] + 3) // 4)
        want = torch.zeros_like(ref.loc_maps)
        want[classes] = refine_maps(
            ref.loc_maps[classes], edge, size, exp_times=3)
        torch.testing.assert_close(out.loc_maps, want)
        assert out.loc_maps.max() == pytest.approx(1.0)
        assert (out.seg_logits.data[0] == 0.22).all()


def test_irn_walk_refiner_threads():
    refiner = MODELS.build(
        dict(type='IRNWalkRefiner', irn=torch.nn.Conv2d(3, 1, 1)))
    assert refiner.num_threads == 1
    with pytest.raises(ValueError, match='IRNWalkRefiner: num_threads'):
        MODELS.build(
            dict(
                type='IRNWalkRefiner',
                irn=torch.nn.Conv2d(3, 1, 1),
                num_threads=0))


def test_refiner_kind_is_checked(seeds):
    _, cfg, _ = seeds
    with pytest.raises(ValueError, match='only one'):
        MODELS.build(
            dict(
                cfg.model,
                crf=dict(type='dense_crf'),
                refiner=dict(type='RelationLabelRefiner')))


def _read_dir(path):
    import os
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path)) if f.endswith(('.png', '.npz'))
    }


@pytest.mark.parametrize('stage', ['relation_labels', 'refined_maps'])
def test_interrupted_refinement_export_resumes_byte_identical(
        seeds, tmp_path, interrupt_writes, stage):
    """The relation-label and refined-map stages are exports of the seed
    path: interrupted mid-way (a write dies, leaving a torn temp file),
    the rerun completes the folder byte for byte like an uninterrupted
    run."""
    setup, cfg, dataset = seeds
    if stage == 'relation_labels':
        refiner = dict(
            type='RelationLabelRefiner',
            fg_threshold=0.985,
            bg_threshold=0.975)
    else:
        irn_cfg = Config.fromfile(
            osp.join(ROOT, 'configs', 'toy', 'irn_r18_voc_toy.py')).model
        torch.manual_seed(0)
        refiner = MODELS.build(
            dict(type='IRNWalkRefiner', irn=irn_cfg, exp_times=3)).eval()
    model = _seed_model(setup, cfg, refiner=refiner)
    kw = dict(save_scores=True, num_workers=0, progress=False)
    ref = str(tmp_path / 'ref')
    export_pseudo_labels(model, dataset, ref, **kw)
    reference = _read_dir(ref)
    out = str(tmp_path / 'out')
    interrupt_writes(3)
    with pytest.raises(RuntimeError, match='simulated kill'):
        export_pseudo_labels(model, dataset, out, **kw)
    interrupt_writes(None)
    partial = _read_dir(out)
    assert 0 < len(partial) < len(reference)
    summary = export_pseudo_labels(model, dataset, out, **kw)
    assert summary['written'] + summary['skipped'] == len(dataset)
    assert summary['skipped'] == sum(f.endswith('.png') for f in partial)
    assert _read_dir(out) == reference
    assert not osp.exists(osp.join(out, '.tmp'))
