# Copyright (c) mmbas contributors. All rights reserved.
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import mmbas  # noqa: F401
from mmbas.testing.toy_data import make_coco, make_voc

ROOT = osp.join(
    osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters')


def _load(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(ROOT, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('voc'))
    return make_voc(root, num_train=4, num_val=2, size=48, num_aug_extra=3)


def test_voc_aug(voc, tmp_path):
    from scipy.io import savemat
    mod = _load('voc_aug')
    vroot = voc['root']
    # SBD layout from the toy's aug masks: SBD train = aug ids + 1 VOC val
    # id (must be excluded), SBD val = 1 VOC train id
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    (sbd / 'cls').mkdir(parents=True)
    aug_ids = [r['id'] for r in voc['splits']['aug']]
    tr = [r['id'] for r in voc['splits']['train']]
    va = [r['id'] for r in voc['splits']['val']]
    truth = {}
    for rec in voc['splits']['aug'] + voc['splits']['train'][:1] + \
            voc['splits']['val'][:1]:
        m = np.array(Image.open(rec['aug_seg_path']))
        truth[rec['id']] = m
        sbd_m = m.copy()
        if rec['seg_path']:
            sbd_m[sbd_m == 255] = 0  # SBD differs: VOC must win
        savemat(
            str(sbd / 'cls' / f'{rec["id"]}.mat'),
            dict(GTcls=dict(Segmentation=sbd_m)))
    (sbd / 'train.txt').write_text('\n'.join(aug_ids + va[:1]) + '\n')
    (sbd / 'val.txt').write_text(tr[0] + '\n')
    for _ in range(2):  # rerunnable
        res = mod.convert(osp.dirname(vroot), str(sbd.parent))
    sets = osp.join(vroot, 'ImageSets', 'Segmentation')
    trainaug = open(osp.join(sets, 'trainaug.txt')).read().split()
    assert trainaug == sorted(set(tr) | set(aug_ids))
    assert open(osp.join(sets, 'aug.txt')).read().split() == sorted(aug_ids)
    assert res['from_sbd'] == len(aug_ids)
    for i in aug_ids + tr + va:
        out = np.array(
            Image.open(osp.join(vroot, 'SegmentationClassAug', f'{i}.png')))
        src = [r for r in sum(voc['splits'].values(), []) if r['id'] == i][0]
        np.testing.assert_array_equal(
            out, np.array(Image.open(src['aug_seg_path'])))
    with pytest.raises(FileNotFoundError, match='cls'):
        mod.convert(vroot, str(tmp_path))


def test_voc_cls_labels(voc, tmp_path):
    from mmbas.datasets import VOCClsDataset
    mod = _load('voc_cls_labels')
    out = str(tmp_path / 'labels.txt')
    n = mod.make_labels(voc['root'], 'trainaug', out)
    ds_xml = VOCClsDataset(
        data_root=voc['root'], ann_file='ImageSets/Segmentation/trainaug.txt')
    ds_txt = VOCClsDataset(
        data_root=voc['root'],
        label_file=out,
        ann_file='ImageSets/Segmentation/trainaug.txt')
    assert n == len(ds_xml) == len(ds_txt)
    for i in range(n):
        a, b = ds_xml.get_data_info(i), ds_txt.get_data_info(i)
        assert sorted(np.asarray(a['gt_label']).tolist()) == \
            sorted(np.asarray(b['gt_label']).tolist())
    xml = osp.join(voc['root'], 'Annotations',
                   f'{voc["splits"]["aug"][0]["id"]}.xml')
    os.rename(xml, str(tmp_path / 'moved.xml'))
    try:
        with pytest.raises(FileNotFoundError, match='no XML'):
            mod.make_labels(voc['root'], 'trainaug', out)
    finally:
        os.rename(str(tmp_path / 'moved.xml'), xml)


def test_coco2014(tmp_path):
    mod = _load('coco2014')
    meta = make_coco(str(tmp_path), num_train=1, num_val=3, size=128)
    root = meta['root']
    for _ in range(2):
        mod.convert_split(root, 'val2014')
    for rec in meta['splits']['val']:
        exact = np.array(Image.open(rec['exact_mask_path']))
        out = np.array(
            Image.open(
                osp.join(root, 'SegmentationClass', 'val2014',
                         f'{rec["id"]}.png')))
        assert out.shape == exact.shape
        for c in np.unique(exact[exact > 0]):
            inter = ((out == c) & (exact == c)).sum()
            union = ((out == c) | (exact == c)).sum()
            assert inter / union > 0.9, (rec['id'], c, inter / union)
        labels = open(osp.join(root, 'ImageSets',
                               'val2014_cls_labels.txt')).read()
        line = [x for x in labels.splitlines() if x.startswith(rec['id'])][0]
        assert sorted(int(v) for v in line.split()[1:]) == \
            sorted(int(c) - 1 for c in np.unique(exact[exact > 0]))
    stems = open(osp.join(root, 'ImageSets', 'val2014.txt')).read().split()
    assert len(stems) == 3
