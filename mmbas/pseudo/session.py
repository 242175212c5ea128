# Copyright (c) mmbas contributors. All rights reserved.
"""One pseudo-label export into a folder, from open to summary.

:class:`ExportSession` is the protocol shared by the export tool
(:func:`mmbas.pseudo.export.export_pseudo_labels`) and
:class:`mmbas.engine.hooks.PseudoLabelExportHook`::

    session = ExportSession(out_dir, class_names)   # open (checks out_dir)
    todo = session.skip_done(names, indices)        # finished -> skipped
    session.submit_sample(data_sample)              # or submit / fail
    summary = session.finish()                      # all ranks, rank 0 saves

Files are written by :class:`mmbas.pseudo.writer.PseudoLabelWriter`
(atomic, deterministic, background thread). Every rank opens its own
session on its own shard; :meth:`ExportSession.finish` sums the counts
over the ranks, so each image must be submitted or skipped by exactly one
rank.
"""
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .writer import (PseudoLabelWriter, format_summary, make_summary,
                     reduce_stats, save_summary)


def sample_name(metainfo: dict) -> str:
    """The file stem of a sample's mask: the stem of ``img_path`` (else
    ``img_id``), so masks match the datasets' ``seg_map_path`` convention."""
    path = metainfo.get('img_path', None)
    if path is None:
        return str(metainfo['img_id'])
    return osp.splitext(osp.basename(path))[0]


def dataset_names(dataset) -> List[str]:
    """Mask name (:func:`sample_name`) of every image of ``dataset``, in
    order: the list an export session's ``skip_done`` indexes."""
    return [sample_name(dataset.get_data_info(i)) for i in range(len(dataset))]


def sample_label(data_sample) -> np.ndarray:
    """(H, W) uint8 label map of a prediction's ``pred_sem_seg``."""
    if 'pred_sem_seg' not in data_sample:
        raise ValueError('prediction has no pred_sem_seg')
    seg = data_sample.pred_sem_seg
    label = seg.data.reshape(seg.shape).detach().cpu().numpy()
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError('label values outside 0..255')
    return label.astype(np.uint8)


def sample_scores(data_sample, num_classes: int):
    """``(label values (K,), maps (K, H, W) float32)`` of the predicted
    classes: rows ``k + 1`` of ``seg_logits`` for ``pred_classes`` (else
    ``gt_label``, else every class); ``(None, None)`` without
    ``seg_logits``."""
    if 'seg_logits' not in data_sample:
        return None, None
    if 'pred_classes' in data_sample:
        fg = data_sample.pred_classes
    elif 'gt_label' in data_sample:
        fg = data_sample.gt_label
    else:
        fg = torch.arange(num_classes)
    fg = torch.as_tensor(fg).reshape(-1).long().cpu()
    logits = data_sample.seg_logits.data.detach().float().cpu()
    return (fg + 1).tolist(), logits[fg + 1].numpy()


class ExportSession:
    """Export pseudo masks of one shard into ``out_dir``.

    Args:
        out_dir (str): Output folder (created; must be writable, else
            :class:`mmbas.pseudo.writer.ExportError`).
        class_names (Sequence[str]): Background + the C foreground names.
        save_scores (bool): Also write ``<name>.npz`` (float16 maps of the
            predicted classes). Defaults to False.
        queue_size (int): Bound of the writer queue. Defaults to 8.
    """

    def __init__(self,
                 out_dir: str,
                 class_names: Sequence[str],
                 save_scores: bool = False,
                 queue_size: int = 8):
        self.out_dir = out_dir
        self.class_names = list(class_names)
        self.num_classes = len(self.class_names) - 1
        self.save_scores = save_scores
        self.writer = PseudoLabelWriter(out_dir, self.num_classes, save_scores,
                                        queue_size)
        self.started = time.perf_counter()
        self.summary: Optional[Dict] = None

    # ------------------------------------------------------------------
    def is_done(self, name: str) -> bool:
        """Whether the mask of ``name`` is finished (final PNG exists)."""
        return self.writer.is_done(name)

    def skip_done(self, names: Sequence[str],
                  indices: Sequence[int]) -> List[int]:
        """Count the finished images among ``indices`` as skipped (their masks
        are read for the summary) and return the others, in order.

        Args:
            names (Sequence[str]): Mask name of every image of the list.
            indices (Sequence[int]): This rank's images (indices of
                ``names``).
        """
        todo = []
        for i in indices:
            if self.writer.is_done(names[i]):
                self.writer.skip(names[i])
            else:
                todo.append(i)
        return todo

    def fail(self, name: str, reason: str) -> None:
        """Record a failed image with a one-line reason."""
        self.writer.fail(name, reason)

    def submit(self,
               name: str,
               label: np.ndarray,
               classes: Optional[Sequence[int]] = None,
               scores: Optional[np.ndarray] = None) -> None:
        """Queue the (H, W) uint8 label map (and scores) of ``name``."""
        self.writer.submit(name, label, classes, scores)

    def submit_sample(self, data_sample, name: Optional[str] = None) -> None:
        """Queue the prediction of one sample (``pred_sem_seg``; with
        ``save_scores`` the ``seg_logits`` rows of its classes); a sample that
        cannot be written fails with the reason."""
        name = name or sample_name(data_sample.metainfo)
        try:
            label = sample_label(data_sample)
        except ValueError as err:
            self.fail(name, str(err))
            return
        classes, scores = (
            sample_scores(data_sample, self.num_classes)
            if self.save_scores else (None, None))
        self.submit(name, label, classes, scores)

    # ------------------------------------------------------------------
    def finish(self, rank: int = 0) -> Dict:
        """Flush, sum the counts over the ranks (collective: every rank calls
        it), and on rank 0 save ``export_summary.json`` and remove the temp
        files killed earlier runs left.

        Returns the summary
        (:func:`mmbas.pseudo.writer.make_summary`) plus ``rank_counts`` of
        this rank.
        """
        local = self.writer.close()
        rank_counts = dict(
            written=local.written,
            skipped=local.skipped,
            failed=len(local.failed))
        total = reduce_stats(local)
        summary = make_summary(total, self.class_names,
                               time.perf_counter() - self.started,
                               self.out_dir)
        if rank == 0:
            # every rank closed its writer before reduce_stats' collectives
            # returned here
            save_summary(summary, self.writer)
        summary['rank_counts'] = rank_counts
        self.summary = summary
        return summary

    def abort(self) -> None:
        """Flush what was submitted and stop the writer without a summary (an
        interrupted export; a rerun resumes it)."""
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001  (the original error matters)
            pass

    @staticmethod
    def format(summary: Dict) -> str:
        """Human-readable text of a summary."""
        return format_summary(summary)
