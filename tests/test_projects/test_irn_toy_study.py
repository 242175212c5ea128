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
