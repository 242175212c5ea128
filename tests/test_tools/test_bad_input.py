# Copyright (c) mmbas contributors. All rights reserved.
"""Bad input gets one line naming the file / key, and leaves nothing half-
written (issue 13): truncated images, images missing from disk, empty image
lists, truncated checkpoints, checkpoints of another model, and a
``cam_checkpoint`` that runs code when unpickled."""
import glob
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS, TRANSFORMS

import mmbas  # noqa: F401
from mmbas.testing import data_root_options, make_voc
from mmbas.testing.bas_reference import register_tiny_backbone
from mmbas.utils.checkpoint import (load_local_checkpoint,
                                    load_state_dict_strict, load_weights_only,
                                    trusted_checkpoints)
from mmbas.utils.errors import (BadInputError, CheckpointMismatchError,
                                CorruptFileError, explain)
from mmbas.utils.image_io import check_image_file, imread_strict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'configs', 'toy', 'bas_voc_toy_r18.py')
TOY_CAM_CONFIG = osp.join(ROOT, 'configs', 'toy', 'cam_voc_toy.py')
TOY_DEEPLAB_CONFIG = osp.join(ROOT, 'configs', 'toy',
                              'deeplabv3plus_r18_toy.py')
# one training step, no validation: enough to reach the first image load
SHORT = [
    'train_cfg.max_iters=1', 'train_cfg.val_interval=100',
    'param_scheduler.0.end=1'
]


def _cut(src: str, dst: str, keep: float = 0.5) -> str:
    """Copy the first ``keep`` of ``src`` to ``dst``."""
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return dst


def _one_line_error(log: str, tool: str) -> str:
    lines = [
        line for line in log.splitlines()
        if line.startswith(f'{tool}: error: ')
    ]
    assert lines, log[-3000:]
    assert 'Traceback' not in log, log[-3000:]
    return lines[0]


def _no_checkpoint_written(work: str) -> None:
    assert not glob.glob(osp.join(work, '**', '*.pth'), recursive=True)
    assert not osp.exists(osp.join(work, 'last_checkpoint'))


@pytest.fixture
def toy_voc(tmp_path):
    """A fresh toy VOC per test (the tests damage it)."""
    init_default_scope('mmseg')
    make_voc(str(tmp_path / 'toy'), num_train=4, num_val=2)
    return str(tmp_path / 'toy' / 'VOCdevkit' / 'VOC2012')


def _first_train_image(data_root: str, ann='trainaug.txt') -> tuple:
    ann_file = osp.join(data_root, 'ImageSets', 'Segmentation', ann)
    with open(ann_file) as f:
        img_id = f.readline().split()[0]
    return img_id, osp.join(data_root, 'JPEGImages', img_id + '.jpg'), \
        ann_file


def _voc(data_root, ann='trainaug.txt', test_mode=False):
    return DATASETS.build(
        dict(
            type='VOCClsDataset',
            data_root=data_root,
            ann_file=f'ImageSets/Segmentation/{ann}',
            data_prefix=dict(img_path='JPEGImages'),
            test_mode=test_mode,
            pipeline=[dict(type='StrictLoadImageFromFile')]))


# ---------------------------------------------------------------------------
# 1. truncated / corrupt images
# ---------------------------------------------------------------------------
def test_truncated_jpeg_and_png_are_refused(toy_voc, tmp_path):
    _, full, _ = _first_train_image(toy_voc)
    check_image_file(full)
    assert imread_strict(full).shape[2] == 3
    with open(full, 'rb') as f:
        data = f.read()
    # data after the end marker (some cameras write it) is not an error
    padded = str(tmp_path / 'trailing.jpg')
    with open(padded, 'wb') as f:
        f.write(data + b'\x00extra bytes after EOI')
    check_image_file(padded)
    # cut anywhere: at the last byte, in the middle, near the header
    for keep in (len(data) - 1, len(data) // 2, 700):
        cut = str(tmp_path / f'cut_{keep}.jpg')
        with open(cut, 'wb') as f:
            f.write(data[:keep])
        with pytest.raises(CorruptFileError, match=cut):
            check_image_file(cut)
        with pytest.raises(CorruptFileError, match='truncated or corrupt'):
            TRANSFORMS.build(dict(type='StrictLoadImageFromFile'))(
                dict(img_path=cut))
    png = str(tmp_path / 'img.png')
    import cv2
    cv2.imwrite(png, imread_strict(full))
    check_image_file(png)
    _cut(png, str(tmp_path / 'cut.png'))
    with pytest.raises(CorruptFileError, match='cut.png'):
        imread_strict(str(tmp_path / 'cut.png'))
    open(tmp_path / 'empty.jpg', 'wb').close()
    with pytest.raises(CorruptFileError, match='empty.jpg is empty'):
        check_image_file(str(tmp_path / 'empty.jpg'))
    # mmcv's transform keeps its ignore_empty contract
    assert TRANSFORMS.build(
        dict(type='StrictLoadImageFromFile',
             ignore_empty=True))(dict(img_path=cut)) is None


def _pipelines(dataset):
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('pipeline'), list):
        yield dataset['pipeline']
    for inner in dataset.get('datasets', []) + [dataset.get('dataset')]:
        yield from _pipelines(inner)


def test_every_config_loads_images_strictly():
    """No dataloader of an mmbas config reads images with mmcv's lenient loader
    (the stock DeepLabV3+ configs keep mmseg's pipelines)."""
    stock = ('deeplabv3plus_r101-d8', )
    paths = sorted(
        glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True))
    checked = 0
    for path in paths:
        if osp.basename(path).startswith(stock) or '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            for pipeline in _pipelines((cfg.get(loader) or {}).get('dataset')):
                types = [t.get('type') for t in pipeline]
                assert 'LoadImageFromFile' not in types, (path, loader)
                checked += 'StrictLoadImageFromFile' in types
    assert checked > 40


def test_truncated_image_in_dataset_names_file_and_list(toy_voc):
    img_id, path, ann_file = _first_train_image(toy_voc)
    _cut(path, path)
    dataset = _voc(toy_voc)
    with pytest.raises(CorruptFileError) as err:
        dataset[0]
    assert path in str(err.value) and ann_file in str(err.value)
    assert img_id in str(err.value)


def test_train_with_truncated_jpeg_fails_naming_it(run_tool, toy_voc,
                                                   tmp_path):
    _, path, ann_file = _first_train_image(toy_voc)
    _cut(path, path)
    work = str(tmp_path / 'work')
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir', work,
        '--cfg-options'
    ] + data_root_options(toy_voc) + SHORT)
    assert result.returncode == 2, log[-3000:]
    line = _one_line_error(log, 'train.py')
    assert f'image file {path} is truncated or corrupt' in line
    assert ann_file in line
    _no_checkpoint_written(work)


# ---------------------------------------------------------------------------
# 2. image listed but missing on disk
# ---------------------------------------------------------------------------
def test_os_errors_are_explained_with_their_file():
    err = FileNotFoundError(2, 'No such file or directory', 'a/b.jpg')
    assert explain(err) == 'a/b.jpg: No such file or directory'
    # torch re-raises a worker's exception with the traceback as message
    wrapped = FileNotFoundError(
        'Caught FileNotFoundError in DataLoader worker process 0.\n'
        'Original Traceback (most recent call last):\n  File "x.py"\n'
        'FileNotFoundError: image file a/b.jpg does not exist')
    assert explain(wrapped) == 'image file a/b.jpg does not exist'
    wrapped = CorruptFileError(
        'Caught CorruptFileError in DataLoader worker process 1.\n'
        'Original Traceback (most recent call last):\n'
        'mmbas.utils.errors.CorruptFileError: image file c.jpg is truncated')
    assert explain(wrapped) == 'image file c.jpg is truncated'


def test_missing_image_names_file_and_list(run_tool, toy_voc, tmp_path):
    img_id, path, ann_file = _first_train_image(toy_voc)
    os.remove(path)
    with pytest.raises(FileNotFoundError) as err:
        _voc(toy_voc)[0]
    assert f'image file {path} does not exist' in str(err.value)
    assert ann_file in str(err.value)

    work = str(tmp_path / 'work')
    # two workers: the error crosses a process boundary
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir', work,
        '--cfg-options'
    ] + data_root_options(toy_voc) + SHORT + [
        'train_dataloader.num_workers=2',
        'train_dataloader.persistent_workers=False'
    ])
    assert result.returncode == 2, log[-3000:]
    line = _one_line_error(log, 'train.py')
    assert line != 'train.py: error: 2'
    assert f'image file {path} does not exist' in line
    assert f'image {img_id} of the list {ann_file}' in line
    _no_checkpoint_written(work)


# ---------------------------------------------------------------------------
# 3. empty image list
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('test_mode', [False, True])
def test_empty_list_names_the_list(toy_voc, test_mode):
    _, _, ann_file = _first_train_image(toy_voc)
    open(ann_file, 'w').close()
    with pytest.raises(BadInputError) as err:
        _voc(toy_voc, test_mode=test_mode)
    assert f'the image list {ann_file} gives no image' in str(err.value)


def test_train_with_empty_list_fails_naming_it(run_tool, toy_voc, tmp_path):
    _, _, ann_file = _first_train_image(toy_voc)
    with open(ann_file, 'w') as f:
        f.write('\n  \n')
    work = str(tmp_path / 'work')
    result, log = run_tool([
        sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir', work,
        '--cfg-options'
    ] + data_root_options(toy_voc) + SHORT)
    assert result.returncode == 2, log[-3000:]
    line = _one_line_error(log, 'train.py')
    assert f'VOCClsDataset: the image list {ann_file} gives no image' in line
    _no_checkpoint_written(work)


def test_export_with_empty_list_fails_naming_it(run_tool, tmp_path):
    """The export builds its dataset through the same classes: the same
    one line, and no mask written."""
    from mmbas.testing.export_setup import make_export_setup
    setup = make_export_setup(str(tmp_path / 'toy'), num_train=2)
    empty = str(tmp_path / 'empty.txt')
    open(empty, 'w').close()
    out = str(tmp_path / 'out')
    result, log = run_tool([
        sys.executable, 'tools/export_pseudo_labels.py', setup['config'],
        setup['checkpoint'], '--out', out, '--split-list', empty
    ])
    assert result.returncode == 2, log[-3000:]
    line = _one_line_error(log, 'export_pseudo_labels.py')
    assert f'the image list {empty} gives no image' in line
    assert not glob.glob(osp.join(out, '**', '*.png'), recursive=True)


# ---------------------------------------------------------------------------
# 4. truncated checkpoints
# ---------------------------------------------------------------------------
def _toy_model(config=TOY_CONFIG):
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def bas_checkpoint(tmp_path_factory):
    """A checkpoint of the toy BAS model, as tools/train.py writes it."""
    from mmengine.logging import HistoryBuffer
    path = str(tmp_path_factory.mktemp('ckpt') / 'bas.pth')
    torch.save(
        dict(
            meta=dict(epoch=0, iter=1, seed=0),
            state_dict=_toy_model().state_dict(),
            message_hub=dict(log_scalars=dict(loss=HistoryBuffer()))), path)
    return path


def test_truncated_checkpoint_is_named(bas_checkpoint, tmp_path):
    with trusted_checkpoints():
        assert 'state_dict' in load_local_checkpoint(bas_checkpoint)
    for keep in (0.999, 0.5, 0.01):
        cut = _cut(bas_checkpoint, str(tmp_path / f'cut_{keep}.pth'), keep)
        for trusted in (False, True):
            with pytest.raises(CorruptFileError) as err:
                if trusted:
                    with trusted_checkpoints():
                        load_local_checkpoint(cut)
                else:
                    load_local_checkpoint(cut)
            assert f'checkpoint {cut} is truncated or corrupt' in str(
                err.value)
    open(tmp_path / 'empty.pth', 'wb').close()
    with pytest.raises(CorruptFileError, match='the file is empty'):
        load_local_checkpoint(str(tmp_path / 'empty.pth'))


@pytest.mark.parametrize('how', ['test', 'resume', 'load_from'])
def test_tools_refuse_a_truncated_checkpoint(run_tool, how, toy_voc,
                                             bas_checkpoint, tmp_path):
    cut = _cut(bas_checkpoint, str(tmp_path / 'cut.pth'))
    work = str(tmp_path / 'work')
    opts = ['--cfg-options'] + data_root_options(toy_voc) + SHORT
    if how == 'test':
        args = ['tools/test.py', TOY_CONFIG, cut, '--work-dir', work]
    elif how == 'resume':
        args = [
            'tools/train.py', TOY_CONFIG, '--work-dir', work, '--resume', cut
        ]
    else:
        args = ['tools/train.py', TOY_CONFIG, '--work-dir', work]
        opts.append(f'load_from={cut}')
    result, log = run_tool([sys.executable] + args + opts)
    assert result.returncode == 2, log[-3000:]
    tool = osp.basename(args[0])
    line = _one_line_error(log, tool)
    assert f'checkpoint {cut} is truncated or corrupt' in line
    _no_checkpoint_written(work)
    assert not glob.glob(
        osp.join(work, '**', '*metrics*.json'), recursive=True)


# ---------------------------------------------------------------------------
# 5. checkpoint of another model given to tools/test.py
# ---------------------------------------------------------------------------
def test_strict_load_names_missing_and_unexpected_keys(tmp_path):
    bas = _toy_model()
    cam_sd = _toy_model(TOY_CAM_CONFIG).state_dict()
    with pytest.raises(CheckpointMismatchError) as err:
        load_state_dict_strict(bas, cam_sd, 'cam.pth')
    message = str(err.value)
    assert message.startswith('checkpoint cam.pth does not match the model')
    missing = sorted(set(bas.state_dict()) - set(cam_sd))
    assert f'{len(missing)} missing keys: {missing[0]}' in message
    assert 'head.' in message
    # its own checkpoint, also with DDP's module. prefix, loads
    own = {f'module.{k}': v for k, v in bas.state_dict().items()}
    load_state_dict_strict(_toy_model(), own, 'own.pth')


@pytest.mark.parametrize('other', ['cam', 'deeplab'])
def test_test_tool_refuses_checkpoint_of_another_model(run_tool, other,
                                                       toy_voc, tmp_path):
    config = TOY_CAM_CONFIG if other == 'cam' else TOY_DEEPLAB_CONFIG
    ckpt = str(tmp_path / f'{other}.pth')
    torch.save(dict(state_dict=_toy_model(config).state_dict()), ckpt)
    work = str(tmp_path / 'work')
    args = [
        sys.executable, 'tools/test.py', TOY_CONFIG, ckpt, '--work-dir', work,
        '--cfg-options'
    ] + data_root_options(toy_voc)
    result, log = run_tool(args)
    assert result.returncode == 2, log[-3000:]
    line = _one_line_error(log, 'test.py')
    assert f'checkpoint {ckpt} does not match the model' in line
    assert 'missing keys: head.' in line or 'missing keys: backbone.' in line
    assert '--non-strict' in line
    assert 'Iter(test)' not in log  # refused before the first image
    assert not glob.glob(osp.join(work, '**', '*.json'), recursive=True)
    if other == 'cam':
        # asked for, a non-strict load runs (with mmengine's warning)
        result, log = run_tool(args[:4] + ['--non-strict'] + args[4:])
        assert result.returncode == 0, log[-3000:]
        assert 'missing keys in source state_dict' in log
        assert 'Iter(test)' in log


# ---------------------------------------------------------------------------
# 6. cam_checkpoint of SeedInferencer: weights only
# ---------------------------------------------------------------------------
class _RunsCode:
    """Unpickling it would create the marker file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (shutil.copyfile, (__file__, self.path))


class _CallsOs:
    """Unpickling it would run a shell command."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


def _tiny(kind):
    head = dict(
        type='BASHead' if kind == 'BAS' else 'CAMHead',
        in_channels_f1=8,
        in_channels_f2=16,
        num_classes=3,
        variant='wsss',
        loss_cls=dict(type='MultiLabelPosNegLoss'))
    return dict(
        type=kind,
        multi_label=True,
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(type=register_tiny_backbone(), f2_pool=False),
        head=head)


def _fused_seeds(cam_checkpoint, **kwargs):
    """A tiny BAS ``SeedInferencer`` fused with a tiny CAM loaded from
    ``cam_checkpoint``."""
    return MODELS.build(
        dict(
            type='SeedInferencer',
            module=_tiny('BAS'),
            cam_module=_tiny('CAM'),
            cam_checkpoint=cam_checkpoint,
            **kwargs))


def test_cam_checkpoint_runs_no_code(tmp_path):
    from mmengine.logging import HistoryBuffer
    torch.manual_seed(1)
    cam = MODELS.build(_tiny('CAM'))
    marker = str(tmp_path / 'code_ran')
    ckpt = str(tmp_path / 'cam.pth')
    loss = HistoryBuffer()
    loss.update(np.float64(0.5))  # numpy objects, as in a training run
    torch.save(
        dict(
            state_dict=cam.state_dict(),
            meta=dict(note=_RunsCode(marker)),
            message_hub=dict(log_scalars=dict(loss=loss))), ckpt)
    model = _fused_seeds(ckpt, scales=[1.0])
    assert not osp.exists(marker)  # the payload never ran
    for key, value in cam.state_dict().items():
        assert torch.equal(model.cam_module.state_dict()[key], value)
    # os / sys globals: torch refuses them outright, named
    torch.save(
        dict(state_dict=cam.state_dict(), meta=_CallsOs(f'touch {marker}')),
        ckpt)
    with pytest.raises(
            BadInputError,
            match=f'checkpoint {ckpt} holds '
            'Python objects .*system'):
        _fused_seeds(ckpt)
    assert not osp.exists(marker)
    # the payload inside the state dict: refused, still without running
    torch.save(
        dict(state_dict=dict(cam.state_dict(), extra=_RunsCode(marker))), ckpt)
    with pytest.raises(
            BadInputError,
            match=f'checkpoint {ckpt} has no '
            'state dict of tensors'):
        load_weights_only(ckpt)
    assert not osp.exists(marker)
    # a truncated or mismatching cam_checkpoint is named
    torch.save(dict(state_dict=cam.state_dict()), ckpt)
    cut = _cut(ckpt, str(tmp_path / 'cut.pth'))
    with pytest.raises(
            CorruptFileError, match=f'checkpoint {cut} is '
            'truncated'):
        _fused_seeds(cut)
    bas_ckpt = str(tmp_path / 'bas.pth')
    torch.save(MODELS.build(_tiny('BAS')).state_dict(), bas_ckpt)
    with pytest.raises(
            CheckpointMismatchError,
            match=f'checkpoint '
            f'{bas_ckpt} does not match'):
        _fused_seeds(bas_ckpt)


def test_runner_saves_checkpoints_atomically(tmp_path, monkeypatch):
    """A save that dies half-way through writing leaves neither a truncated
    target nor its temporary file."""
    import mmengine.runner.runner as runner_module
    from mmengine.fileio.backends.local_backend import LocalBackend

    from mmbas.utils.checkpoint import save_checkpoint_atomic
    assert runner_module.save_checkpoint is save_checkpoint_atomic
    target = str(tmp_path / 'iter_1.pth')
    save_checkpoint_atomic(dict(state_dict=dict(w=torch.ones(3))), target)
    assert torch.equal(torch.load(target)['state_dict']['w'], torch.ones(3))

    def dies_half_way(self, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError('No space left on device')

    monkeypatch.setattr(LocalBackend, 'put', dies_half_way)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint_atomic(
            dict(state_dict=dict(w=torch.ones(3))),
            str(tmp_path / 'iter_2.pth'))
    assert os.listdir(tmp_path) == ['iter_1.pth']
