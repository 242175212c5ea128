# Copyright (c) mmbas contributors. All rights reserved.
"""Checks of a pseudo-mask folder before the segmentation stage (stage 3).

Stage 3 trains a stock mmseg model on the masks that
``tools/export_pseudo_labels.py`` wrote. Three mistakes would otherwise
surface as a crash deep inside a data-loader worker, or worse, as a model
silently trained on wrong labels:

* an image of the stage-3 train list has no mask (export interrupted, or
  run on another list);
* a mask's size differs from its image's (masks of resized images);
* a mask holds values outside ``0..C`` and ``255`` (masks exported with
  another class count than the segmentation model's ``num_classes - 1``).

:func:`check_pseudo_masks` reads every mask of the train dataset of a
stage-3 config (sizes from the file headers, values from the decoded PNG)
and raises :class:`PseudoMaskError` whose message lists the first offending
files of each kind and how to fix them. Command line (exit status 0 when
the folder is usable, 1 with the message otherwise)::

    python tools/misc/check_pseudo_masks.py CONFIG [--cfg-options k=v ...]
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

__all__ = [
    'PseudoMaskError', 'check_mask_files', 'check_pseudo_masks',
    'train_items_of_config'
]

IGNORE_INDEX = 255


class PseudoMaskError(ValueError):
    """The pseudo-mask folder cannot be used for stage 3 (message lists the
    offending files and the fix)."""


def _few(items: Sequence[str], max_list: int) -> str:
    shown = ', '.join(items[:max_list])
    more = len(items) - max_list
    return shown + (f' (+{more} more)' if more > 0 else '')


def check_mask_files(items: Sequence[dict],
                     num_classes: int,
                     ignore_index: int = IGNORE_INDEX,
                     max_list: int = 10,
                     check_values: bool = True,
                     source: str = 'the train list') -> Dict:
    """Check the masks of ``items``.

    Args:
        items (Sequence[dict]): one dict per image with ``img_path`` and
            ``seg_map_path`` (mmseg's data info).
        num_classes (int): classes of the segmentation model, background
            included (masks may hold ``0..num_classes - 1`` and
            ``ignore_index``).
        ignore_index (int): Defaults to 255.
        max_list (int): how many offending files each message names.
        check_values (bool): decode the masks and check their values
            (sizes are always checked). Defaults to True.
        source (str): name of the list in the message.

    Returns:
        dict: ``num_images``, ``mask_dir`` (folder of the first mask) and
        ``max_label`` (largest class value seen) when every mask is usable.

    Raises:
        PseudoMaskError: listing the first ``max_list`` files of each
            problem and the fix.
    """
    from PIL import Image
    missing: List[str] = []
    bad_size: List[str] = []
    bad_values: List[str] = []
    unreadable: List[str] = []
    max_label = 0
    mask_dirs = set()
    for info in items:
        seg = info['seg_map_path']
        mask_dirs.add(osp.dirname(seg))
        if not osp.isfile(seg):
            missing.append(osp.basename(seg))
            continue
        try:
            with Image.open(seg) as m:
                m_size = m.size
                arr = np.asarray(m) if check_values else None
            with Image.open(info['img_path']) as im:
                i_size = im.size
        except OSError as err:
            unreadable.append(f'{osp.basename(seg)} ({err})')
            continue
        if m_size != i_size:
            bad_size.append(f'{osp.basename(seg)} (mask {m_size[0]}x'
                            f'{m_size[1]}, image {i_size[0]}x{i_size[1]})')
            continue
        if arr is not None:
            if arr.ndim != 2:
                bad_values.append(f'{osp.basename(seg)} (not a single-'
                                  f'channel label map, shape {arr.shape})')
                continue
            vals = np.unique(arr)
            wrong = vals[((vals < 0) | (vals >= num_classes))
                         & (vals != ignore_index)]
            if wrong.size:
                bad_values.append(f'{osp.basename(seg)} (values '
                                  f'{wrong[:5].tolist()})')
            else:
                fg = vals[vals != ignore_index]
                if fg.size:
                    max_label = max(max_label, int(fg.max()))
    mask_dir = sorted(mask_dirs)[0] if mask_dirs else ''
    problems = []
    if missing:
        problems.append(
            f'{len(missing)} image(s) of {source} have no mask in '
            f'{mask_dir}: {_few(missing, max_list)}.\n'
            '    fix: export masks for the whole train list (rerun '
            'tools/export_pseudo_labels.py with --out on this folder and '
            '--split-list on the train list; finished images are '
            'skipped), or train on the list that was exported')
    if bad_size:
        problems.append(
            f'{len(bad_size)} mask(s) differ in size from their image: '
            f'{_few(bad_size, max_list)}.\n'
            '    fix: masks must have the original image resolution; '
            'delete them and export them again from the original images')
    if bad_values:
        problems.append(
            f'{len(bad_values)} mask(s) hold values outside 0..'
            f'{num_classes - 1} and {ignore_index}: '
            f'{_few(bad_values, max_list)}.\n'
            '    fix: the masks were made for another number of classes '
            f'than the segmentation model ({num_classes} incl. background);'
            ' export them with the dataset of this stage (same classes as '
            'stage 1) or set model.decode_head.num_classes to match')
    if unreadable:
        problems.append(
            f'{len(unreadable)} mask/image file(s) cannot be read: '
            f'{_few(unreadable, max_list)}.\n'
            '    fix: delete the broken masks and export them again')
    if problems:
        raise PseudoMaskError(
            f'the pseudo masks for {source} ({len(items)} images) cannot be '
            'used for training:\n  ' + '\n  '.join(problems))
    return dict(num_images=len(items), mask_dir=mask_dir, max_label=max_label)


def _num_classes_of(cfg) -> int:
    head = cfg.model.get('decode_head')
    if isinstance(head, (list, tuple)):
        head = head[-1]
    if head is None or 'num_classes' not in head:
        raise PseudoMaskError('the config has no model.decode_head.'
                              'num_classes; pass num_classes explicitly')
    return int(head['num_classes'])


def train_items_of_config(cfg) -> List[dict]:
    """``img_path`` / ``seg_map_path`` of every image of
    ``cfg.train_dataloader.dataset`` (ConcatDataset included)."""
    import copy

    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmbas  # noqa: F401  (registries)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'seg_map_path' not in info:
            raise PseudoMaskError(
                'the train dataset of the config has no seg_map_path; set '
                'train_dataloader.dataset.data_prefix.seg_map_path to the '
                'pseudo-mask folder')
        items.append(
            dict(img_path=info['img_path'], seg_map_path=info['seg_map_path']))
    return items


def check_pseudo_masks(cfg,
                       num_classes: Optional[int] = None,
                       max_list: int = 10,
                       check_values: bool = True) -> Dict:
    """Check the pseudo masks of the train dataset of a stage-3 config.

    Args:
        cfg (mmengine.Config): segmentation config (after ``cfg-options``).
        num_classes (int, optional): classes incl. background; defaults to
            ``cfg.model.decode_head.num_classes``.
        max_list (int): offending files named per problem.
        check_values (bool): also decode the masks and check the values.

    Returns:
        dict: see :func:`check_mask_files`.

    Raises:
        PseudoMaskError: see :func:`check_mask_files`.
    """
    if num_classes is None:
        num_classes = _num_classes_of(cfg)
    ds = cfg.train_dataloader.dataset
    source = f"the train list {ds.get('ann_file') or '(image folder)'}"
    try:
        items = train_items_of_config(cfg)
    except (FileNotFoundError, AssertionError) as err:
        raise PseudoMaskError(
            f'cannot build the train dataset of the config: {err}') from None
    return check_mask_files(
        items,
        num_classes,
        max_list=max_list,
        check_values=check_values,
        source=source)
