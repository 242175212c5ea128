"""Official WSOL box metrics: MaxBoxAcc (v1) and MaxBoxAccV2.

Data-sample keys read by the WSOL metrics of this package (mmengine hands
``process`` plain dicts; a value may be a tensor, an ndarray, a list, or a
``{'data': ...}`` dict as produced by ``PixelData.to_dict()``):

* ``pred_loc_map`` -- float HxW localization map (leading 1-dims are
  squeezed), already resized to the frame of the GT (image or crop).
* ``gt_bboxes`` -- ``(N, 4)`` x0, y0, x1, y1 boxes in the same frame
  (``gt_instances['bboxes']`` is used as a fallback).
* ``gt_label`` -- int class index (paper metric only).
* ``pred_score`` -- ``(C,)`` class scores (paper metric only, optional).
* ``gt_mask`` / ``ignore_mask`` -- HxW masks (mask metric only).
* ``img_path`` or ``img_id`` -- only used to name the image in errors.
"""
import multiprocessing
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..functional import (DEFAULT_BOX_STEP, IOU_DELTAS, check_box_method,
                          max_box_acc, official_box_ious, official_thresholds)


def to_numpy(value):
    """Tensor / PixelData-dict / list -> numpy array (None stays None)."""
    if value is None:
        return None
    if isinstance(value, dict) and 'data' in value:
        value = value['data']
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def sample_name(sample: dict) -> Optional[str]:
    """Name of the image for error messages (``img_path`` / ``img_id``)."""
    for key in ('img_path', 'img_id', 'ori_filename'):
        if sample.get(key) is not None:
            return str(sample[key])
    return None


def read_required(sample: dict, key: str, metric: str):
    """``sample[key]`` as numpy, or a ValueError explaining what is missing."""
    value = sample.get(key)
    if value is None:
        raise ValueError(
            f'{metric}: data sample of {sample_name(sample)!r} has no '
            f'{key!r}; the model/test pipeline must put it in the data '
            f'sample (available keys: {sorted(sample)}).')
    return to_numpy(value)


def read_gt_boxes(sample: dict, metric: str) -> np.ndarray:
    """GT boxes from ``gt_bboxes`` or ``gt_instances['bboxes']``."""
    if sample.get('gt_bboxes') is None:
        inst = sample.get('gt_instances')
        if isinstance(inst, dict) and inst.get('bboxes') is not None:
            return to_numpy(inst['bboxes'])
    return read_required(sample, 'gt_bboxes', metric)


def read_label(sample: dict, metric: str) -> int:
    """``gt_label`` as a Python int (scalar or one-element array)."""
    label = read_required(sample, 'gt_label', metric).reshape(-1)
    if label.size != 1:
        raise ValueError(f'{metric}: gt_label of {sample_name(sample)!r} '
                         f'must be one class index, got {label}')
    return int(label[0])


def format_table(title: str, header: Sequence[str], rows) -> str:
    """Small text table (prettytable when available)."""
    try:
        from prettytable import PrettyTable
        table = PrettyTable(list(header))
        for row in rows:
            table.add_row(list(row))
        return f'{title}\n{table.get_string()}'
    except ImportError:  # pragma: no cover
        lines = ['\t'.join(map(str, header))]
        lines += ['\t'.join(map(str, row)) for row in rows]
        return title + '\n' + '\n'.join(lines)


def _box_ious_job(jobs, thresholds, normalize, method='auto') -> List[dict]:
    """Per-image work of :class:`WSOLBoxMetric` (runs in pool workers):

    ``jobs`` is a list of ``(loc_map, gt_boxes, name)``.
    """
    out = []
    for loc_map, boxes, name in jobs:
        iou_v1, iou_v2 = official_box_ious(
            loc_map,
            boxes,
            thresholds,
            normalize=normalize,
            name=name,
            method=method)
        out.append(dict(iou_v1=iou_v1, iou_v2=iou_v2))
    return out


@METRICS.register_module()
class WSOLBoxMetric(BaseMetric):
    """MaxBoxAcc and MaxBoxAccV2 of Choe et al. (``clovaai/wsolevaluation``).

    Per image and map threshold the per-threshold best IoU of the largest
    contour's box (v1) and of all contours' boxes (v2) is stored (two
    float64 arrays of ``len(thresholds)``; float64 keeps ``iou >= delta``
    decisions identical to the reference).  ``compute_metrics`` returns:

    * ``MaxBoxAcc`` / ``MaxBoxAcc_threshold`` -- v1 at ``v1_delta`` (50);
    * ``MaxBoxAccV2`` -- mean over ``iou_deltas`` of the best accuracy;
    * ``MaxBoxAccV2_IoU<d>`` / ``MaxBoxAccV2_IoU<d>_threshold`` per delta,
      each with its own best threshold.

    Args:
        step (float): threshold step, thresholds ``np.arange(0, 1, step)``.
        thresholds (Sequence[float], optional): explicit thresholds (override
            ``step``).
        iou_deltas (Sequence[int]): IoU thresholds in percent for V2.
        v1_delta (int): IoU threshold in percent for MaxBoxAcc (v1).
        normalize (bool): min-max normalise maps as wsolevaluation does
            (NaN or constant map -> zeros).  Keep True unless maps are
            already normalised to [0, 1].
        method (str): box computation, see
            :func:`~mmbas.evaluation.functional.official_box_ious`:
            ``'auto'`` (default: the union-find sweeps of the compiled
            extension, ~1.5-2 ms per 224x224 image; ``'contours'`` when it
            is not built), ``'sweep'`` or ``'contours'`` (one
            ``cv2.findContours`` per distinct threshold, about 9x slower).
            All give identical numbers.
        nproc (int): worker processes for the per-image box work.
            ``process`` hands each batch to a ``multiprocessing`` pool
            asynchronously, so the workers run while the model predicts the
            next batches; ``evaluate`` waits for them before collecting.
            Results are identical for any ``nproc``.  1 (default): no pool.
            0: one worker per CPU core.
        mp_start_method (str): start method of the pool, default 'fork'
            where available (workers only run numpy / OpenCV), else
            'spawn'.
    """

    def __init__(self,
                 step: float = DEFAULT_BOX_STEP,
                 thresholds: Optional[Sequence[float]] = None,
                 iou_deltas: Sequence[int] = IOU_DELTAS,
                 v1_delta: int = 50,
                 normalize: bool = True,
                 method: str = 'auto',
                 nproc: int = 1,
                 mp_start_method: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.thresholds = official_thresholds(step) if thresholds is None \
            else np.asarray(thresholds, dtype=np.float64).reshape(-1)
        self.iou_deltas = tuple(iou_deltas)
        self.v1_delta = v1_delta
        self.normalize = normalize
        self.method = check_box_method(method)
        if nproc < 0:
            raise ValueError(f'nproc must be >= 0, got {nproc}')
        self.nproc = nproc or (multiprocessing.cpu_count() or 1)
        if mp_start_method is None:
            mp_start_method = 'fork' if 'fork' in \
                multiprocessing.get_all_start_methods() else 'spawn'
        self.mp_start_method = mp_start_method
        self._pool = None
        self._pending: list = []

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        jobs = []
        for sample in data_samples:
            name = sample_name(sample)
            loc_map = read_required(sample, 'pred_loc_map', 'WSOLBoxMetric')
            boxes = read_gt_boxes(sample, 'WSOLBoxMetric')
            jobs.append((loc_map, boxes, name))
        if self.nproc <= 1:
            self.results.extend(
                _box_ious_job(jobs, self.thresholds, self.normalize,
                              self.method))
            return
        if self._pool is None:
            ctx = multiprocessing.get_context(self.mp_start_method)
            self._pool = ctx.Pool(self.nproc)
        # keep the order of the samples: one placeholder per batch
        self._pending.append(
            (len(self.results),
             self._pool.apply_async(
                 _box_ious_job,
                 (jobs, self.thresholds, self.normalize, self.method))))
        self.results.append(None)

    def _drain(self) -> None:
        """Wait for the pool and put its results in place (in order)."""
        if not self._pending:
            return
        filled: list = []
        pending = dict(self._pending)
        try:
            for i, entry in enumerate(self.results):
                if i in pending:
                    filled.extend(pending[i].get())
                else:
                    filled.append(entry)
        finally:
            self._pending = []
            self._close_pool()
        self.results = filled

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def evaluate(self, size: int) -> dict:
        """Wait for the workers (``nproc > 1``), then mmengine's
        ``evaluate``."""
        self._drain()
        return super().evaluate(size)

    def __del__(self):
        pool = getattr(self, '_pool', None)
        if pool is not None:
            pool.terminate()

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        iou_v1 = np.stack([r['iou_v1'] for r in results])
        iou_v2 = np.stack([r['iou_v2'] for r in results])
        v1 = max_box_acc(iou_v1, self.thresholds, (self.v1_delta, ))
        v2 = max_box_acc(iou_v2, self.thresholds, self.iou_deltas)
        d1 = f'{self.v1_delta:g}'
        out = {
            'MaxBoxAcc': v1[f'acc_{d1}'],
            'MaxBoxAcc_threshold': v1[f'thr_{d1}'],
            'MaxBoxAccV2': v2['mean'],
        }
        rows = [('MaxBoxAcc (largest contour)', f'IoU{d1}',
                 f"{out['MaxBoxAcc']:.2f}", f"{out['MaxBoxAcc_threshold']:g}")]
        for d in self.iou_deltas:
            key = f'MaxBoxAccV2_IoU{d:g}'
            out[key] = v2[f'acc_{d:g}']
            out[f'{key}_threshold'] = v2[f'thr_{d:g}']
            rows.append(('MaxBoxAccV2 (all contours)', f'IoU{d:g}',
                         f'{out[key]:.2f}', f"{out[key + '_threshold']:g}"))
        rows.append(('MaxBoxAccV2', 'mean', f"{out['MaxBoxAccV2']:.2f}", '-'))
        print_log(
            format_table(f'WSOL official box metrics ({len(results)} images)',
                         ('metric', 'delta', 'acc (%)', 'threshold'), rows),
            logger='current')
        return out
