# Copyright (c) mmbas contributors. All rights reserved.
"""mmbas.pseudo.checks and tools/misc/check_pseudo_masks.py: missing masks,
wrong sizes, wrong class values."""
import importlib.util
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

import mmbas  # noqa: F401
from mmbas.pseudo.checks import PseudoMaskError, check_pseudo_masks
from mmbas.testing import make_voc

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY = osp.join(ROOT, 'configs', 'toy', 'deeplabv3plus_r18_toy.py')
_spec = importlib.util.spec_from_file_location(
    'check_pseudo_masks',
    osp.join(ROOT, 'tools', 'misc', 'check_pseudo_masks.py'))
_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tool)
main = _tool.main


@pytest.fixture
def setup(tmp_path):
    make_voc(str(tmp_path), num_train=6, num_val=2, size=64)
    data_root = str(tmp_path / 'VOCdevkit' / 'VOC2012')
    pseudo = str(tmp_path / 'pseudo')
    os.makedirs(pseudo)
    ids = open(
        osp.join(data_root, 'ImageSets', 'Segmentation',
                 'trainaug.txt')).read().split()
    for i in ids:  # "pseudo masks" = the toy aug masks
        shutil.copy(
            osp.join(data_root, 'SegmentationClassAug', f'{i}.png'),
            osp.join(pseudo, f'{i}.png'))
    opts = {
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.data_prefix.seg_map_path': pseudo
    }
    return data_root, pseudo, ids, opts


def load(opts):
    from mmbas.apis.config_utils import load_config
    return load_config(TOY, opts)


def test_ok_and_cli(setup, capsys):
    data_root, pseudo, ids, opts = setup
    report = check_pseudo_masks(load(opts))
    assert report['num_images'] == len(ids) == 9
    assert report['mask_dir'] == pseudo
    assert 1 <= report['max_label'] <= 20
    assert main([TOY, '--cfg-options'] + [f'{k}={v}'
                                          for k, v in opts.items()]) == 0
    assert 'pseudo-mask check ok: 9 masks' in capsys.readouterr().out


def test_problems_are_listed_with_the_fix(setup, capsys):
    data_root, pseudo, ids, opts = setup
    os.remove(osp.join(pseudo, f'{ids[0]}.png'))
    os.remove(osp.join(pseudo, f'{ids[1]}.png'))
    small = np.zeros((10, 12), np.uint8)
    Image.fromarray(small).save(osp.join(pseudo, f'{ids[2]}.png'))
    arr = np.array(Image.open(osp.join(pseudo, f'{ids[3]}.png')))
    arr[0, 0] = 40  # a class of an 81-class export
    Image.fromarray(arr).save(osp.join(pseudo, f'{ids[3]}.png'))
    with pytest.raises(PseudoMaskError) as err:
        check_pseudo_masks(load(opts), max_list=1)
    msg = str(err.value)
    assert 'trainaug.txt' in msg
    assert '2 image(s) of the train list' in msg
    assert f'{ids[0]}.png (+1 more)' in msg
    assert f'{ids[2]}.png (mask 12x10, image' in msg
    assert f'{ids[3]}.png (values [40])' in msg
    assert 'outside 0..20 and 255' in msg
    assert msg.count('fix:') == 3
    assert main([TOY, '--cfg-options'] + [f'{k}={v}'
                                          for k, v in opts.items()]) == 1
    assert 'pseudo-mask check failed' in capsys.readouterr().err


def test_class_count_from_config(setup):
    data_root, pseudo, ids, opts = setup
    # a 3-class model (bg + 2) cannot train on masks holding class 3+
    opts = dict(opts)
    opts['model.decode_head.num_classes'] = 2
    with pytest.raises(PseudoMaskError, match='outside 0..1 and 255'):
        check_pseudo_masks(load(opts))
    # sizes and presence only
    check_pseudo_masks(load(opts), check_values=False)
