"""BAS "paper" localization metrics: Top-1/Top-5/GT-known Loc, IoU30/50/70."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..functional import (PAPER_IOU_DELTAS, paper_box_ious, paper_loc_summary,
                          topk_correct)
from .wsol_box_metric import (format_table, read_gt_boxes, read_label,
                              read_required, sample_name, to_numpy)


@METRICS.register_module()
class WSOLPaperMetric(BaseMetric):
    """Localization accuracy as reported in the BAS tables.

    Protocol (see :mod:`mmbas.evaluation.functional.paper_protocol`):
    ``(x - min) / (max - min + 1e-5)``, foreground ``map >= t``, largest
    8-connected component, inclusive box, +1-convention IoU, best over GT
    boxes.

    Keys read from each data sample: ``pred_loc_map``, ``gt_bboxes`` (or
    ``gt_instances['bboxes']``), ``gt_label`` and ``pred_score`` (``(C,)``;
    if any sample lacks it, Top-1/Top-5 keys are omitted), ``img_path`` /
    ``img_id`` for errors.  Top-k uses the rank of the GT class (number of
    strictly higher scores), so exact score ties count as correct.

    ``compute_metrics`` returns (percent): ``gt_known_loc``, ``top1_loc``,
    ``top5_loc``, ``iou30``, ``iou50``, ``iou70`` at ``best_threshold``, plus
    ``top1_cls``/``top5_cls``; with ``report_per_threshold`` also
    ``gt_known_loc@<t>`` / ``top1_loc@<t>`` / ``top5_loc@<t>`` per threshold.

    Args:
        thresholds (Sequence[float], optional): map thresholds; default
            ``np.arange(0, 1, 0.01)``.  Use e.g. ``[0.1]`` for a fixed
            per-backbone threshold.
        fixed_threshold (float, optional): report at this threshold (must be
            in ``thresholds``); None -> best by GT-known Loc (smallest
            threshold on ties).
        normalize (bool): apply the +1e-5 min-max normalisation (NaN map ->
            zeros).
        iou_deltas (Sequence[int]): percent IoU thresholds for ``iou<d>``.
        report_per_threshold (bool, optional): add per-threshold keys; None
            -> only when there are at most 10 thresholds.
    """

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 fixed_threshold: Optional[float] = None,
                 normalize: bool = True,
                 iou_deltas: Sequence[int] = PAPER_IOU_DELTAS,
                 report_per_threshold: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.thresholds = np.arange(0, 1, 0.01) if thresholds is None else \
            np.asarray(thresholds, dtype=np.float64).reshape(-1)
        if self.thresholds.size == 0:
            raise ValueError('WSOLPaperMetric needs at least one threshold')
        if fixed_threshold is not None and not np.isclose(
                self.thresholds, fixed_threshold, rtol=0, atol=1e-9).any():
            raise ValueError(f'fixed_threshold={fixed_threshold} is not in '
                             f'thresholds={self.thresholds.tolist()}')
        self.fixed_threshold = fixed_threshold
        self.normalize = normalize
        self.iou_deltas = tuple(iou_deltas)
        self.report_per_threshold = (len(self.thresholds) <= 10) \
            if report_per_threshold is None else report_per_threshold

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample_name(sample)
            loc_map = read_required(sample, 'pred_loc_map', 'WSOLPaperMetric')
            boxes = read_gt_boxes(sample, 'WSOLPaperMetric')
            label = read_label(sample, 'WSOLPaperMetric')
            ious = paper_box_ious(
                loc_map,
                boxes,
                self.thresholds,
                normalize=self.normalize,
                name=name)
            scores = to_numpy(sample.get('pred_score'))
            if scores is None:
                top1 = top5 = None
            else:
                top1, top5 = topk_correct(scores, label, (1, 5))
            self.results.append(dict(ious=ious, top1=top1, top5=top5))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        ious = np.stack([r['ious'] for r in results])
        has_cls = all(r['top1'] is not None for r in results)
        top1 = np.array([r['top1'] for r in results], bool) if has_cls \
            else None
        top5 = np.array([r['top5'] for r in results], bool) if has_cls \
            else None
        summary = paper_loc_summary(ious, self.thresholds, top1, top5,
                                    self.fixed_threshold, self.iou_deltas)
        out = {k: v for k, v in summary.items() if not k.startswith('curve_')}
        curve_keys = [
            k[6:] for k in summary
            if k.startswith('curve_') and not k.startswith('curve_iou')
        ]
        if self.report_per_threshold:
            for k in curve_keys:
                for t, v in zip(self.thresholds, summary[f'curve_{k}']):
                    out[f'{k}@{t:g}'] = float(v)
        rows = [(f'{t:g}', *(f"{summary[f'curve_{k}'][i]:.2f}"
                             for k in curve_keys))
                for i, t in enumerate(self.thresholds)]
        print_log(
            format_table(
                f'WSOL paper-protocol localization ({len(results)} images); '
                f"chosen threshold {out['best_threshold']:g}: " +
                ', '.join(f'{k}={v:.2f}' for k, v in out.items()
                          if k != 'best_threshold' and '@' not in k),
                ('threshold', *curve_keys), rows),
            logger='current')
        return out
