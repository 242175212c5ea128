# Copyright (c) mmbas contributors. All rights reserved.
"""projects/irn_toy: the study's scoring (the seeds' sweep, the GT boundary
cells, the oracle walk, the relation-label statistics) on a tiny toy VOC with
seed maps made from the GT masks."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmbas.pseudo.random_walk import irn_grid_size, save_refined_maps
from mmbas.testing import make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'projects', 'irn_toy', 'irn_toy_study.py')
_spec = importlib.util.spec_from_file_location('irn_toy_study', SCRIPT)
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """Toy VOC and seed maps: per image class c the map is 1 on the GT
    pixels of c (band: 0.5), 0 elsewhere -- or, with ``invert``, 1 - that."""
    root = tmp_path_factory.mktemp('irn_toy')
    make_voc(str(root), num_train=3, num_val=1, size=48)
    data_root = str(root / 'VOCdevkit' / 'VOC2012')
    dirs = {}
    for invert in (False, True):
        out = str(root / f'seeds_{int(invert)}')
        for img_id in study.ids_of(data_root, 'trainaug'):
            gt = np.array(
                Image.open(
                    osp.join(data_root, 'SegmentationClassAug',
                             img_id + '.png')))
            classes = sorted(
                int(v) - 1 for v in np.unique(gt) if v not in (0, 255))
            maps = np.stack([(gt == c + 1) + 0.5 * (gt == 255)
                             for c in classes]).astype(np.float32)
            save_refined_maps(
                osp.join(out, img_id + '.npz'), 1 - maps if invert else maps,
                classes)
        dirs[invert] = out
    return data_root, dirs


def test_sweep_gt_cells_and_oracle(toy, tmp_path):
    data_root, seeds = toy
    # maps equal to the GT masks score 100 at every threshold below 1
    miou, thr, curve = study.sweep(data_root,
                                   lambda i: study.load_seeds(seeds[False], i))
    assert miou == 100.0 and thr == 0.05
    assert curve[:-1] == [100.0] * 18
    # inverted maps: the class everywhere but on its object
    assert study.sweep(data_root,
                       lambda i: study.load_seeds(seeds[True], i))[0] < 50
    img_id = study.ids_of(data_root, 'train')[0]
    gt = np.array(
        Image.open(
            osp.join(data_root, 'SegmentationClassAug', img_id + '.png')))
    cells = study.gt_boundary_cells(data_root, img_id)
    assert cells.shape == irn_grid_size(gt.shape)
    assert set(np.unique(cells)) == {0.0, 1.0}
    # a cell is 1 iff one of its 4x4 pixels is on the band
    y, x = np.argwhere(gt == 255)[0]
    assert cells[y // 4, x // 4] == 1
    assert cells[0, 0] == float((gt[:4, :4] == 255).any())
    out = str(tmp_path / 'oracle.jsonl')
    study.main(['oracle', data_root, seeds[False], '--out', out])
    with open(out) as f:
        result = json.loads(f.read())
    assert result['seed_mIoU'] == 100.0
    # the walk on GT boundaries keeps perfect seeds nearly perfect
    assert result['oracle_walk_mIoU'] > 80
    assert len(result['oracle_walk_curve']) == len(study.THRESHOLDS)


def test_relation_label_statistics(toy, tmp_path):
    data_root, seeds = toy
    out = str(tmp_path / 'labels')
    stats = study.write_relation_labels(data_root, seeds[False], out, 0.30,
                                        0.17, False)
    # GT maps: every labelled pixel agrees with the GT
    assert stats['agreement'] == 1.0
    assert stats['fg_share'] == stats['gt_fg_share'] > 0
    assert len(os.listdir(out)) == len(study.ids_of(data_root, 'trainaug'))
    inv = study.write_relation_labels(data_root, seeds[True],
                                      str(tmp_path / 'inv'), 0.30, 0.17, False)
    assert inv['agreement'] < 0.5


def test_synthetic_seed_maps_shape_and_normalisation(tmp_path):
    # a 100 x 130 GT: a square of class 3 (value 3), a disc of class 8
    # with its boundary band (255)
    gt = np.zeros((100, 130), np.uint8)
    gt[20:60, 10:50] = 3
    yy, xx = np.mgrid[:100, :130]
    r = np.hypot(yy - 55, xx - 95)
    gt[r < 22] = 8
    gt[(r >= 22) & (r < 24)] = 255
    maps, classes = study.synthetic_seed_maps(gt)
    assert maps.shape == (2, 100, 130) and maps.dtype == np.float32
    assert classes.tolist() == [2, 7]
    assert maps.min() >= 0
    np.testing.assert_allclose(maps.max((1, 2)), 1, rtol=0, atol=1e-6)
    # right place: each map peaks inside its object, is higher there than
    # on the background and has a soft extent (values strictly between)
    for k, v in enumerate((3, 8)):
        peak = np.unravel_index(maps[k].argmax(), gt.shape)
        assert gt[peak] == v
        assert maps[k][gt == v].mean() > 3 * maps[k][gt == 0].mean()
        assert ((maps[k] > 0.05) & (maps[k] < 0.95)).mean() > 0.1
    # coarse: not the GT mask at any threshold (blur crosses the boundary)
    assert (maps[1][(r >= 24) & (r < 30)] > 0).all()
    # no class: (0, H, W)
    maps, classes = study.synthetic_seed_maps(np.zeros((8, 9), np.uint8))
    assert maps.shape == (0, 8, 9) and classes.shape == (0, )
    with pytest.raises(ValueError, match='label map'):
        study.synthetic_seed_maps(np.zeros((2, 8, 9), np.uint8))
    # the subcommand stores them in the export's score format
    make_voc(str(tmp_path), num_train=2, num_val=1, size=48)
    data_root = str(tmp_path / 'VOCdevkit' / 'VOC2012')
    out = str(tmp_path / 'synth')
    study.main(['synth', data_root, out])
    for img_id in study.ids_of(data_root, 'trainaug'):
        maps, classes = study.load_seeds(out, img_id)
        gt = np.array(
            Image.open(
                osp.join(data_root, 'SegmentationClassAug', img_id + '.png')))
        assert maps.shape[1:] == gt.shape
        assert (classes + 1).tolist() == sorted(
            int(v) for v in np.unique(gt) if v not in (0, 255))
        np.testing.assert_allclose(maps.max((1, 2)), 1, atol=1e-3)
