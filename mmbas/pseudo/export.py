# Copyright (c) mmbas contributors. All rights reserved.
"""Export WSSS pseudo masks of a whole image list with a seed model.

Library side of ``tools/export_pseudo_labels.py``. The export runs the
config's ``model`` UNCHANGED -- for a seed config its
:class:`~mmbas.models.classifiers.SeedInferencer` with its scales, flip,
CAM fusion, CRF and thresholds -- on the images of the config's
``export_dataloader`` (else ``test_dataloader``) dataset through that
dataset's own pipeline, and writes each sample's ``pred_sem_seg``: exactly
the label maps ``tools/test.py`` scores with the same config.

Properties:

* resumable, atomic and deterministic: :class:`ExportSession` /
  :mod:`mmbas.pseudo.writer` (finished = final PNG exists, skipped before
  inference; ``os.replace`` from ``<out>/.tmp``; fixed PNG settings);
* distributed: rank ``r`` of ``w`` takes indices ``r::w`` of the list (no
  padding, so every image is counted once); counts are summed over the
  ranks and rank 0 writes ``<out>/export_summary.json``;
* fast: a DataLoader with workers runs the pipeline, the main thread runs
  the model under ``torch.inference_mode()``, a background thread encodes
  and writes; with the images' classes known, a BAS model runs F1 and the
  generator only (:meth:`forward_maps` ``with_scores=False``);
* failures (unreadable image, label out of range, ...) are recorded per
  image with the reason; the export continues and the summary lists them.
"""
import copy
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .session import ExportSession, dataset_names, sample_name
from .writer import ExportError

__all__ = [
    'ExportError', 'ExportItem', 'load_checkpoint_strict',
    'export_items_from_dataset', 'build_export_dataset', 'export_pseudo_labels'
]

#: an image of the list: name (file stem), image path, 0-based fg labels.
ExportItem = Tuple[str, str, Sequence[int]]


# ----------------------------------------------------------------------------
# model side
# ----------------------------------------------------------------------------
def _few(items: Sequence[str]) -> str:
    return ', '.join(
        items[:3]) + (f' (+{len(items) - 3} more)' if len(items) > 3 else '')


def load_checkpoint_strict(model: torch.nn.Module, path: str) -> None:
    """Load the weights of ``path`` into ``model``, strictly.

    The file is read weights-only (no code in it runs, see
    :func:`mmbas.utils.checkpoint.load_weights_only`; training checkpoints
    load) and goes through the model's own ``load_state_dict`` (so
    ``SeedInferencer`` maps a bare BAS checkpoint onto its module);
    a missing / unexpected key or shape mismatch raises
    :class:`mmbas.utils.errors.CheckpointMismatchError` naming the file and
    the first mismatches, a truncated file
    :class:`~mmbas.utils.errors.CorruptFileError`
    (:func:`mmbas.utils.checkpoint.load_state_dict_strict`).
    """
    from mmbas.utils.checkpoint import (load_state_dict_strict,
                                        load_weights_only)
    load_state_dict_strict(model, load_weights_only(path), path)


# ----------------------------------------------------------------------------
# data side
# ----------------------------------------------------------------------------
def export_items_from_dataset(dataset) -> List[ExportItem]:
    """``(name, img_path, labels)`` of every image of an mmbas dataset (name =
    image file stem, see :func:`sample_name`)."""
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        labels = info.get('gt_label', ())
        items.append((sample_name(info), info['img_path'],
                      [int(v) for v in torch.as_tensor(labels).reshape(-1)]))
    return items


def build_export_dataset(cfg, split_list: Optional[str] = None):
    """The dataset (with its pipeline) of ``cfg.export_dataloader`` (else
    ``cfg.test_dataloader``), without ``seg_map_path`` (masks are not read, and
    a pipeline step that loads annotations skips them).

    ``split_list`` (text file, one image id per line) replaces a ``.txt``
    ``ann_file`` (VOC-style lists), or else selects the images of the
    dataset by file stem or ``img_id``; an id not in the dataset raises
    :class:`ExportError` naming the list.

    Returns:
        tuple: ``(dataset, items)``, ``items[i]`` the
        :data:`ExportItem` of ``dataset[i]``.
    """
    from mmseg.registry import DATASETS
    loader_cfg = cfg.get('export_dataloader', None) or cfg.get(
        'test_dataloader', None)
    if loader_cfg is None or 'dataset' not in loader_cfg:
        raise ExportError('the config has neither export_dataloader nor '
                          'test_dataloader with a dataset')
    ds_cfg = copy.deepcopy(loader_cfg['dataset'])
    prefix = dict(ds_cfg.get('data_prefix', {}) or {})
    prefix.pop('seg_map_path', None)
    ds_cfg['data_prefix'] = prefix
    ids = None
    if split_list is not None:
        if not osp.isfile(split_list):
            raise ExportError(f'--split-list {split_list} does not exist')
        with open(split_list) as f:
            ids = [ln.split()[0] for ln in f if ln.strip()]
        if str(ds_cfg.get('ann_file', '')).endswith('.txt'):
            ds_cfg['ann_file'] = osp.abspath(split_list)
            ids = None
    dataset = DATASETS.build(ds_cfg)
    items = export_items_from_dataset(dataset)
    if ids is not None:
        index = {}
        for i, it in enumerate(items):
            index.setdefault(it[0], i)
            index.setdefault(str(dataset.get_data_info(i).get('img_id')), i)
        missing = [i for i in ids if i not in index]
        if missing:
            raise ExportError(
                f'--split-list {split_list}: {len(missing)} id(s) not in '
                f'the dataset of the config: {_few(missing)}; fix the list '
                'or the data_root / ann_file of the config')
        keep = [index[i] for i in ids]
        dataset = dataset.get_subset(keep)
        items = [items[i] for i in keep]
    return dataset, items


class _SafeDataset(torch.utils.data.Dataset):
    """``dataset[indices[k]]`` through its pipeline; an error travels as a
    record ``{'name', 'error'}`` instead of stopping the export."""

    def __init__(self, dataset, indices: Sequence[int], names: Sequence[str]):
        self.dataset = dataset
        self.indices = list(indices)
        self.names = names

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict:
        i = self.indices[k]
        out = dict(name=self.names[i], data=None, error=None)
        try:
            out['data'] = self.dataset[i]
        except Exception as err:  # noqa: BLE001  (reported per image)
            msg = ' '.join(str(err).split())
            out['error'] = f'{type(err).__name__}: {msg}'
        return out


def _identity(item):
    return item


class _Progress:
    """A small progress bar on stderr: done/total, images/s and ETA."""

    def __init__(self, total: int, enabled: bool = True, stream=None):
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self.last = 0.0
        self.tty = hasattr(self.stream, 'isatty') and self.stream.isatty()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        period = 0.5 if self.tty else 10.0
        if self.enabled and (now - self.last >= period
                             or self.done == self.total):
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            width = 30
            fill = int(width * self.done / max(self.total, 1))
            line = (f'[{"#" * fill}{"." * (width - fill)}] {self.done}/'
                    f'{self.total}, {rate:.2f} img/s, elapsed '
                    f'{elapsed:.0f}s, ETA {eta:.0f}s')
            end = '\r' if self.tty and self.done < self.total else '\n'
            self.stream.write(('\r' if self.tty else '') + line + end)
            self.stream.flush()


# ----------------------------------------------------------------------------
# the export
# ----------------------------------------------------------------------------
def export_pseudo_labels(model: torch.nn.Module,
                         dataset,
                         out_dir: str,
                         save_scores: bool = False,
                         num_workers: int = 2,
                         rank: int = 0,
                         world_size: int = 1,
                         progress: bool = True,
                         queue_size: int = 8) -> Dict:
    """Export the pseudo masks of this rank's shard of ``dataset``.

    Args:
        model (nn.Module): The seed model in eval mode: anything with
            ``test_step(data) -> [SegDataSample]`` whose samples hold
            ``pred_sem_seg`` (``SeedInferencer``, or a BAS / CAM model for
            single-scale seeds).
        dataset: An mmseg-style dataset with its pipeline (see
            :func:`build_export_dataset`); ``metainfo['classes']`` =
            background + the C foreground names.
        out_dir (str): Output folder (created; must be writable).
        save_scores (bool): Also write ``<name>.npz``.
        num_workers (int): DataLoader workers (0 = in the main process).
        rank, world_size (int): This process' shard (``r::w``).
        progress (bool): Show the progress bar (rank 0 only).
        queue_size (int): Bound of the writer queue.

    Returns:
        dict: The summary over all ranks
        (:func:`mmbas.pseudo.writer.make_summary`) plus ``rank_counts`` of
        this rank (``shard``, ``written``, ``skipped``, ``failed``).
    """
    session = ExportSession(out_dir, dataset.metainfo['classes'], save_scores,
                            queue_size)
    names = dataset_names(dataset)
    shard = list(range(rank, len(dataset), world_size))
    todo = session.skip_done(names, shard)
    loader = torch.utils.data.DataLoader(
        _SafeDataset(dataset, todo, names),
        batch_size=None,
        shuffle=False,
        num_workers=num_workers if len(todo) > 1 else 0,
        collate_fn=_identity)
    bar = _Progress(len(todo), enabled=progress and rank == 0)
    try:
        with torch.inference_mode():
            for rec in loader:
                if rec['error'] is not None:
                    session.fail(rec['name'], rec['error'])
                else:
                    data = rec['data']
                    batch = dict(
                        inputs=[data['inputs']],
                        data_samples=[data['data_samples']])
                    try:
                        out = model.test_step(batch)[0]
                    except (ValueError, RuntimeError, OSError) as err:
                        session.fail(rec['name'], f'inference failed: {err}')
                    else:
                        session.submit_sample(out, rec['name'])
                bar.update()
    except BaseException:
        session.abort()  # keep the finished masks, then re-raise
        raise
    summary = session.finish(rank)
    summary['rank_counts']['shard'] = len(shard)
    counts = summary['rank_counts']
    print(
        f'[rank {rank}/{world_size}] shard of {len(shard)} images: '
        f'written {counts["written"]}, skipped {counts["skipped"]}, '
        f'failed {counts["failed"]}',
        file=sys.stderr,
        flush=True)
    return summary
