# Copyright (c) mmbas contributors. All rights reserved.
"""Deterministic, atomic, resumable writing of pseudo masks.

Shared by the export tool (:mod:`mmbas.pseudo.export`) and
:class:`mmbas.engine.hooks.PseudoLabelExportHook`.

* :func:`encode_label_png` -- a label map (H, W) in 0..C / 255 as a mode 'P'
  PNG with the VOC palette. PIL with fixed settings (zlib level 6, no
  ``optimize``, no text chunks, no timestamps): the same array always gives
  the same bytes.
* :func:`encode_scores` -- float16 score maps + class ids as an ``.npz``
  (zip with deflate, the content of ``np.savez_compressed``) whose member
  timestamps are fixed, so it is byte-deterministic too.
* :class:`PseudoLabelWriter` -- encodes and writes on a background thread
  fed through a bounded queue. Every file is written to
  ``<out_dir>/.tmp/<name>.<pid>.tmp`` and moved to its final name with
  ``os.replace`` (atomic on POSIX), so a killed export never leaves a
  truncated file under a final name. An image is *finished* when its final
  PNG exists (scores, when saved, are written before the PNG). The writer
  accumulates the summary counts as integers (no per-image arrays kept).
* :func:`save_summary` -- rank 0's last step: ``export_summary.json``
  (atomic), then the temp files killed earlier runs left are removed.
"""
import io
import json
import os
import os.path as osp
import queue
import sys
import threading
import time
import zipfile
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from mmbas.datasets.palettes import voc_palette

IGNORE_INDEX = 255
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: the summary file of an export folder
SUMMARY_FILE = 'export_summary.json'


class ExportError(RuntimeError):
    """A user-facing export error whose message is one line."""


_PALETTE = voc_palette()


def encode_label_png(label: np.ndarray) -> bytes:
    """Encode a label map as a deterministic palette PNG.

    Args:
        label (np.ndarray): (H, W) integer map, values in 0..254 (classes,
            0 = background) or 255 (ignore).

    Returns:
        bytes: the PNG file content (mode 'P', VOC palette).
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'label map must be (H, W), got {label.shape}')
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError('label values must lie in 0..255, got '
                         f'[{label.min()}, {label.max()}]')
    img = Image.fromarray(
        np.ascontiguousarray(label.astype(np.uint8)), mode='P')
    img.putpalette(_PALETTE)
    buf = io.BytesIO()
    img.save(buf, format='PNG', optimize=False, compress_level=6)
    return buf.getvalue()


def encode_scores(classes: Sequence[int], maps: np.ndarray) -> bytes:
    """Encode score maps as a deterministic compressed ``.npz``.

    Args:
        classes (Sequence[int]): (K,) label values of the maps (1-based:
            ``gt_label + 1``, the values used in the PNG).
        maps (np.ndarray): (K, H, W) float score maps (stored as float16).

    Returns:
        bytes: an ``.npz`` with arrays ``classes`` (int64, (K,)) and ``maps``
        (float16, (K, H, W)); load with ``np.load``.
    """
    arrays = dict(
        classes=np.asarray(classes, dtype=np.int64).reshape(-1),
        maps=np.asarray(maps, dtype=np.float16))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(key + '.npy', date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def atomic_write(path: str, data: bytes, tmp_dir: str) -> None:
    """Write ``data`` to ``tmp_dir/<basename>.<pid>.tmp`` then ``os.replace``
    it onto ``path`` (never a partial file at ``path``)."""
    tmp = osp.join(tmp_dir, f'{osp.basename(path)}.{os.getpid()}.tmp')
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def check_writable(out_dir: str) -> str:
    """Create ``out_dir`` (and ``out_dir/.tmp``) and check that files can be
    created there; raise :class:`ExportError` with one line otherwise.

    Returns:
        str: the temp dir ``out_dir/.tmp``.
    """
    tmp_dir = osp.join(out_dir, '.tmp')
    try:
        os.makedirs(tmp_dir, exist_ok=True)
        probe = osp.join(tmp_dir, f'.probe.{os.getpid()}')
        with open(probe, 'wb') as f:
            f.write(b'ok')
        os.remove(probe)
    except OSError as err:
        raise ExportError(
            f'output dir {out_dir} is not writable ({err.strerror or err}); '
            'pass a writable --out directory') from None
    return tmp_dir


class ExportStats:
    """Integer counts of one export (this process).

    Attributes:
        num_classes (int): label values 0..num_classes (0 = background).
        pixels (np.ndarray): int64 (num_classes + 2,) pixel counts of the
            masks of the list, written by this run or finished before it
            (skipped): values 0..num_classes, last entry = ignore (255).
        written, skipped, no_fg (int): images written, skipped (already
            finished), without any foreground pixel (written or skipped).
        failed (list[str]): ``'<name>: <reason>'`` per failed image.
    """

    def __init__(self, num_classes: int):
        self.num_classes = int(num_classes)
        self.pixels = np.zeros(self.num_classes + 2, dtype=np.int64)
        self.written = 0
        self.skipped = 0
        self.no_fg = 0
        self.failed: List[str] = []

    def add_label(self, label: np.ndarray, skipped: bool = False) -> None:
        """Count the pixels of one label map, written now or (``skipped``)
        finished by an earlier run."""
        counts = np.bincount(label.reshape(-1), minlength=256).astype(np.int64)
        c = self.num_classes
        if counts[c + 1:255].any():
            bad = int(np.flatnonzero(counts[c + 1:255])[0] + c + 1)
            raise ValueError(f'label value {bad} outside 0..{c} and 255')
        self.pixels[:c + 1] += counts[:c + 1]
        self.pixels[c + 1] += counts[255]
        if skipped:
            self.skipped += 1
        else:
            self.written += 1
        if not counts[1:c + 1].any():
            self.no_fg += 1


def reduce_stats(stats: ExportStats) -> ExportStats:
    """Sum the counts of every rank (identity when not distributed)."""
    from mmengine import dist
    if dist.get_world_size() == 1:
        return stats
    import torch
    vec = torch.from_numpy(
        np.concatenate([
            stats.pixels,
            np.asarray([stats.written, stats.skipped, stats.no_fg],
                       dtype=np.int64)
        ]))
    dist.all_reduce(vec, op='sum')
    failed = dist.all_gather_object(stats.failed)
    out = ExportStats(stats.num_classes)
    arr = vec.numpy()
    out.pixels = arr[:-3].copy()
    out.written, out.skipped, out.no_fg = (int(v) for v in arr[-3:])
    out.failed = sorted(f for part in failed for f in part)
    return out


def make_summary(stats: ExportStats, class_names: Sequence[str],
                 wall_time: float, out_dir: str) -> Dict:
    """The summary dict of an export (JSON serialisable).

    Keys: ``out_dir``, ``written``, ``skipped``, ``failed`` (count),
    ``failed_images`` (list), ``no_foreground`` (masks without a foreground
    pixel), ``wall_time_s``, ``images_per_s`` (written / wall time),
    ``total_pixels``, ``class_pixels`` ({name: count}, ``ignore`` last),
    ``class_pixel_share`` ({name: fraction of the pixels}). Pixel and
    no-foreground counts cover every finished mask of the list, written by
    this run or skipped, so a resumed export reports the same folder
    content as an uninterrupted one.
    """
    names = list(class_names)[:stats.num_classes + 1]
    names += [f'class_{i}' for i in range(len(names), stats.num_classes + 1)]
    names.append('ignore')
    total = int(stats.pixels.sum())
    return dict(
        out_dir=out_dir,
        written=stats.written,
        skipped=stats.skipped,
        failed=len(stats.failed),
        failed_images=list(stats.failed),
        no_foreground=stats.no_fg,
        wall_time_s=round(float(wall_time), 3),
        images_per_s=round(stats.written /
                           wall_time, 4) if wall_time > 0 else 0.0,
        total_pixels=total,
        class_pixels={
            n: int(v)
            for n, v in zip(names, stats.pixels)
        },
        class_pixel_share={
            n: (round(int(v) / total, 6) if total else 0.0)
            for n, v in zip(names, stats.pixels)
        })


def format_summary(summary: Dict) -> str:
    """Human-readable multi-line text of :func:`make_summary`."""
    lines = [
        f"pseudo-label export -> {summary['out_dir']}",
        f"  written {summary['written']}, skipped (already done) "
        f"{summary['skipped']}, failed {summary['failed']}",
        f"  wall time {summary['wall_time_s']:.1f} s "
        f"({summary['images_per_s']:.3f} images/s written)",
        f"  images without foreground: {summary['no_foreground']}",
        '  pixel share per class:'
    ]
    for name, share in summary['class_pixel_share'].items():
        if summary['class_pixels'][name]:
            lines.append(f'    {name:>16s} {100 * share:7.3f} %')
    if summary['failed_images']:
        lines.append('  failed images:')
        lines += [f'    {f}' for f in summary['failed_images']]
    return '\n'.join(lines)


def remove_stale_temp_files(tmp_dir: str, older_than: float) -> int:
    """Remove the files of ``tmp_dir`` last modified before ``older_than`` (a
    ``time.time()`` value), then ``tmp_dir`` itself if it is empty.

    Called by :func:`save_summary` at the end of a complete export, after
    every rank has closed its writer, with ``older_than`` = the export's
    start: what is left then was written by an interrupted (killed) earlier
    run -- torn ``<name>.png.<pid>.tmp`` files or an unfinished summary --
    and is never read again. The age test spares the temp files of another
    export that might be writing into the same folder at that moment.
    Errors (a file removed meanwhile, a non-empty dir) are ignored.

    Returns:
        int: the number of files removed.
    """
    removed = 0
    try:
        names = sorted(os.listdir(tmp_dir))
    except OSError:
        return 0
    for name in names:
        path = osp.join(tmp_dir, name)
        try:
            if osp.isfile(path) and os.stat(path).st_mtime < older_than:
                os.remove(path)
                removed += 1
        except OSError:
            pass
    try:
        os.rmdir(tmp_dir)
    except OSError:
        pass
    return removed


def save_summary(summary: Dict, writer: 'PseudoLabelWriter') -> int:
    """Finish an export on rank 0, after every rank closed its writer.

    Writes ``<out_dir>/export_summary.json`` atomically, then removes what
    killed earlier runs left in ``<out_dir>/.tmp``
    (:func:`remove_stale_temp_files` with the writer's start time), so that
    a killed-and-rerun folder holds exactly the files of an uninterrupted
    run. Used by the export tool and by ``PseudoLabelExportHook``.

    Returns:
        int: the number of stale temp files removed.
    """
    tmp = osp.join(writer.tmp_dir, f'{SUMMARY_FILE}.{os.getpid()}')
    with open(tmp, 'w') as f:
        json.dump(summary, f, indent=2)
    os.replace(tmp, osp.join(writer.out_dir, SUMMARY_FILE))
    stale = remove_stale_temp_files(writer.tmp_dir, writer.started_at)
    if stale:
        print(
            f'removed {stale} temp file(s) left in {writer.tmp_dir} by an '
            'interrupted export',
            file=sys.stderr,
            flush=True)
    return stale


class PseudoLabelWriter:
    """Write label PNGs (and optional score ``.npz``) on a background thread.

    Args:
        out_dir (str): output folder (created; must be writable, checked at
            construction -> :class:`ExportError`).
        num_classes (int): number of foreground classes C (labels 0..C, 255).
        save_scores (bool): also write ``<name>.npz`` (see
            :func:`encode_scores`). Defaults to False.
        queue_size (int): bound of the queue of pending images (memory bound:
            at most ``queue_size`` label maps wait). Defaults to 8.
        threaded (bool): encode/write on a background thread (True) or
            synchronously in :meth:`submit` (False). Defaults to True.
    """

    def __init__(self,
                 out_dir: str,
                 num_classes: int,
                 save_scores: bool = False,
                 queue_size: int = 8,
                 threaded: bool = True):
        self.out_dir = out_dir
        self.tmp_dir = check_writable(out_dir)
        # temp files older than this belong to interrupted earlier runs
        self.started_at = time.time()
        self.save_scores = save_scores
        self.stats = ExportStats(num_classes)
        self._lock = threading.Lock()
        self._error: Optional[BaseException] = None
        self._queue: Optional[queue.Queue] = None
        self._thread = None
        if threaded:
            self._queue = queue.Queue(maxsize=max(1, int(queue_size)))
            self._thread = threading.Thread(
                target=self._worker, name='pseudo-label-writer', daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------
    def png_path(self, name: str) -> str:
        """Final PNG path of image ``name``."""
        return osp.join(self.out_dir, f'{name}.png')

    def score_path(self, name: str) -> str:
        """Final score path of image ``name``."""
        return osp.join(self.out_dir, f'{name}.npz')

    def is_done(self, name: str) -> bool:
        """Whether image ``name`` is finished (its final PNG exists)."""
        return osp.exists(self.png_path(name))

    def skip(self, name: str) -> None:
        """Count ``name`` as skipped (already finished); its mask is read (on
        the writer thread) so that the summary's pixel counts cover it."""
        self._run(self._count_finished, name)

    def fail(self, name: str, reason: str) -> None:
        """Record a failed image with a one-line reason."""
        with self._lock:
            self.stats.failed.append(f'{name}: {reason}')

    # ------------------------------------------------------------------
    def _write(self, name: str, label: np.ndarray, classes, scores) -> None:
        label = np.asarray(label)
        if label.dtype != np.uint8:
            label = label.astype(np.uint8)
        png = encode_label_png(label)
        try:
            if self.save_scores and scores is not None:
                atomic_write(
                    self.score_path(name), encode_scores(classes, scores),
                    self.tmp_dir)
            atomic_write(self.png_path(name), png, self.tmp_dir)
        except OSError as err:  # disk full, removed dir, ...
            raise OSError(f'write failed: {err}') from None
        with self._lock:
            self.stats.add_label(label)

    def _count_finished(self, name: str) -> None:
        path = self.png_path(name)
        try:
            with Image.open(path) as img:
                label = np.asarray(img)
            with self._lock:
                self.stats.add_label(label, skipped=True)
        except (OSError, ValueError) as err:
            raise OSError(f'finished mask {path} is unreadable ({err}); '
                          'delete it to export the image again') from None

    def _run(self, fn, name: str, *args) -> None:
        """Run ``fn(name, *args)`` on the writer thread (or here when not
        threaded); an ``OSError`` fails the image."""
        if self._error is not None:
            raise self._error
        if self._queue is not None:
            self._queue.put((fn, name) + args)
            return
        try:
            fn(name, *args)
        except OSError as err:
            self.fail(name, str(err))

    def _worker(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                try:
                    item[0](*item[1:])
                except OSError as err:
                    self.fail(item[1], str(err))
                except Exception as err:  # noqa: BLE001
                    self._error = err
            finally:
                self._queue.task_done()

    def submit(self,
               name: str,
               label: np.ndarray,
               classes: Optional[Sequence[int]] = None,
               scores: Optional[np.ndarray] = None) -> None:
        """Queue one image (blocks while the queue is full).

        Args:
            name (str): image id; files ``<name>.png`` / ``<name>.npz``.
            label (np.ndarray): (H, W) uint8 label map, 0..C or 255.
            classes (Sequence[int], optional): label values of ``scores``.
            scores (np.ndarray, optional): (K, H, W) score maps, saved when
                ``save_scores``.
        """
        self._run(self._write, name, label, classes, scores)

    def close(self) -> ExportStats:
        """Flush the queue, stop the thread and return this process' stats; re-
        raise an unexpected error of the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self.stats
