# Copyright (c) mmbas contributors. All rights reserved.
"""Config names follow mmseg's pattern and say what the configs hold;
``configs/bas/metafile.yaml`` (and ``model-index.yml``) point at real configs;
:func:`mmbas.apis.stages.find_root` finds ``tools/`` and ``configs/`` in a
checkout and in an installed package's ``.mim``."""
import glob
import os
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

import mmbas  # noqa: F401 - registers mmbas and patches the stack
from mmbas.apis.stages import find_root

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHOD_DIRS = ('bas', 'cam', 'deeplab', 'irn')

#: {algorithm}_{backbone}_{N}xb{B}-{schedule}_{dataset}-{crop}[_{suffix}]
TRAIN_NAME = re.compile(
    r'^(?P<algo>[a-z0-9]+)_(?P<backbone>[a-z0-9-]+)_(?P<gpus>\d+)xb'
    r'(?P<batch>\d+)-(?P<sched>\d+)(?P<unit>e|k)_(?P<data>[a-z0-9-]+?)-'
    r'(?P<crop>\d+)x(?P=crop)(?:_[a-z0-9]+)?\.py$')
#: {algorithm}_{backbone}_seed-{recipe}_{dataset}-{split}
SEED_NAME = re.compile(
    r'^(?P<algo>[a-z0-9]+)_(?P<backbone>[a-z0-9]+)_seed-[a-z0-9-]+_'
    r'(?P<data>[a-z0-9]+)-(?P<split>train|val|trainaug)\.py$')


def method_configs():
    return sorted(
        osp.relpath(p, ROOT) for d in METHOD_DIRS
        for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py')))


def test_method_configs_found():
    # 14 BAS, 2 CAM, 4 DeepLab, 2 IRN configs today
    assert len(method_configs()) >= 22


@pytest.mark.parametrize('path', method_configs())
def test_name_pattern(path):
    name = osp.basename(path)
    assert TRAIN_NAME.match(name) or SEED_NAME.match(name), (
        f'{path}: name it {{algorithm}}_{{backbone}}_{{N}}xb{{B}}-'
        '{schedule}_{dataset}-{crop}.py (or the seed pattern of '
        'configs/bas/README.md)')


@pytest.mark.parametrize(
    'path', [p for p in method_configs() if TRAIN_NAME.match(osp.basename(p))])
def test_name_matches_content(path):
    """Batch size, schedule and crop in the name are the config's."""
    m = TRAIN_NAME.match(osp.basename(path))
    cfg = Config.fromfile(osp.join(ROOT, path))
    # mmseg's NxB: N processes of B images each
    assert cfg.train_dataloader.batch_size == int(m['batch'])
    sched = int(m['sched'])
    if m['unit'] == 'e':
        assert cfg.train_cfg.max_epochs == sched
    else:
        assert cfg.train_cfg.max_iters == sched * 1000
    crop = int(m['crop'])
    crops = [
        tuple(t['crop_size'] if isinstance(t['crop_size'], (
            list, tuple)) else (t['crop_size'], ) * 2)
        for t in cfg.train_dataloader.dataset.pipeline if 'crop_size' in t
    ]
    assert crops and all(c == (crop, crop) for c in crops), crops


def load_metafile():
    with open(osp.join(ROOT, 'configs', 'bas', 'metafile.yaml')) as f:
        return yaml.safe_load(f)


def test_model_index_imports_metafile():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    for path in index['Import']:
        assert osp.isfile(osp.join(ROOT, path)), path
    assert 'configs/bas/metafile.yaml' in index['Import']


def test_metafile_points_at_configs():
    meta = load_metafile()
    collections = {c['Name'] for c in meta['Collections']}
    assert 'BAS' in collections
    readme = meta['Collections'][0]['README']
    assert osp.isfile(osp.join(ROOT, readme))
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names))
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert osp.isfile(osp.join(ROOT, model['Config'])), model['Config']
        assert osp.basename(model['Config']) == model['Name'] + '.py'
        assert 'Weights' not in model  # none released by mmbas
        metrics = model['Results']['Metrics']
        assert metrics and all(isinstance(v, float)
                               for v in metrics.values()), model['Name']


def test_readme_names_existing_configs():
    """Every config the BAS README names exists (and every BAS config is named
    there)."""
    with open(osp.join(ROOT, 'configs', 'bas', 'README.md')) as f:
        text = f.read()
    named = set(
        re.findall(r'(?<![\w/-])((?:bas|cam|irn|deeplabv\w+)_[\w.-]+?\.py)',
                   text))
    for name in named:
        hits = glob.glob(osp.join(ROOT, 'configs', '*', name))
        assert hits, f'configs/bas/README.md names {name}: no such config'
    for path in glob.glob(osp.join(ROOT, 'configs', 'bas', '*.py')):
        assert osp.basename(path) in named, path


def make_dirs(*paths):
    for p in paths:
        os.makedirs(p, exist_ok=True)


def test_find_root_checkout(tmp_path):
    make_dirs(tmp_path / 'mmbas', tmp_path / 'tools', tmp_path / 'configs')
    assert find_root(str(tmp_path / 'mmbas')) == str(tmp_path)


def test_find_root_installed(tmp_path):
    mim = tmp_path / 'site-packages' / 'mmbas' / '.mim'
    make_dirs(mim / 'tools', mim / 'configs')
    assert find_root(str(tmp_path / 'site-packages' / 'mmbas')) == str(mim)


def test_find_root_neither(tmp_path):
    make_dirs(tmp_path / 'mmbas' / '.mim' / 'tools')  # no configs
    assert find_root(str(tmp_path / 'mmbas')) == str(tmp_path)


def test_find_root_of_this_checkout():
    assert find_root() == ROOT
