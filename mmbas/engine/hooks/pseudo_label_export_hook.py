# Copyright (c) mmbas contributors. All rights reserved.
"""Write pseudo-mask PNGs from the test predictions."""
import os.path as osp
import time
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from mmbas.pseudo.writer import (PseudoLabelWriter, format_summary,
                                 make_summary, reduce_stats, save_summary)


@HOOKS.register_module()
class PseudoLabelExportHook(Hook):
    """Save ``pred_sem_seg`` of every test sample as a pseudo-mask PNG.

    Uses the writer of the export tool (:mod:`mmbas.pseudo.writer`):
    ``<out_dir>/<image file stem>.png``, mode 'P' with the VOC palette,
    values 0..C (0 background) and 255, written atomically; images whose
    PNG exists are skipped (not rewritten). With ``save_scores`` the maps of
    the predicted classes (``seg_logits`` rows ``k + 1`` for the classes in
    ``pred_classes``, else in ``gt_label``) go to ``<stem>.npz`` (float16).
    At the end of the test epoch the counts are summed over the ranks; rank
    0 logs the summary, writes ``<out_dir>/export_summary.json`` and removes
    the temp files that killed earlier runs left in ``<out_dir>/.tmp``.

    Use it with ``tools/test.py`` via ``custom_hooks=[dict(
    type='PseudoLabelExportHook', out_dir='work_dirs/pseudo')]``.

    Args:
        out_dir (str): output folder (created; must be writable).
        save_scores (bool): also write the score maps. Defaults to False.
        queue_size (int): bound of the background writer queue.
            Defaults to 8.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: str,
                 save_scores: bool = False,
                 queue_size: int = 8):
        self.out_dir = out_dir
        self.save_scores = save_scores
        self.queue_size = queue_size
        self.writer: Optional[PseudoLabelWriter] = None
        self.class_names: Sequence[str] = ()
        self._start = 0.0

    def before_test_epoch(self, runner) -> None:
        """Open the writer (checks that ``out_dir`` is writable)."""
        dataset = runner.test_dataloader.dataset
        self.class_names = list(dataset.metainfo['classes'])
        self.writer = PseudoLabelWriter(self.out_dir,
                                        len(self.class_names) - 1,
                                        self.save_scores, self.queue_size)
        self._start = time.perf_counter()

    @staticmethod
    def _name(data_sample) -> str:
        path = data_sample.metainfo.get('img_path', None)
        if path is None:
            return str(data_sample.metainfo['img_id'])
        return osp.splitext(osp.basename(path))[0]

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        """Queue the label map (and scores) of every output sample."""
        if self.writer is None or not outputs:
            return
        for ds in outputs:
            name = self._name(ds)
            if self.writer.is_done(name):
                self.writer.skip(name)
                continue
            if 'pred_sem_seg' not in ds:
                self.writer.fail(name, 'prediction has no pred_sem_seg')
                continue
            label = ds.pred_sem_seg.data.reshape(ds.pred_sem_seg.shape)
            label = label.detach().cpu().numpy()
            classes, scores = None, None
            if self.save_scores and 'seg_logits' in ds:
                if 'pred_classes' in ds:
                    fg = ds.pred_classes
                elif 'gt_label' in ds:
                    fg = ds.gt_label
                else:
                    fg = torch.arange(len(self.class_names) - 1)
                fg = torch.as_tensor(fg).reshape(-1).long().cpu()
                logits = ds.seg_logits.data.detach().float().cpu()
                classes = (fg + 1).tolist()
                scores = logits[fg + 1].numpy()
            try:
                label = np.asarray(label)
                if label.min() < 0 or label.max() > 255:
                    raise ValueError('label values outside 0..255')
                self.writer.submit(name, label.astype(np.uint8), classes,
                                   scores)
            except ValueError as err:
                self.writer.fail(name, str(err))

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Flush, gather the counts, log and save the summary."""
        if self.writer is None:
            return
        writer, self.writer = self.writer, None
        stats = reduce_stats(writer.close())
        summary = make_summary(stats, self.class_names,
                               time.perf_counter() - self._start, self.out_dir)
        if get_rank() == 0:
            runner.logger.info('\n' + format_summary(summary))
            save_summary(summary, writer)
        self.summary = summary
