"""Official WSOL mask metrics: PxAP and PIoU (OpenImages30k protocol)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..functional import (DEFAULT_MASK_STEP, mask_bin_edges, mask_histograms,
                          official_thresholds, piou_from_histograms,
                          pxap_from_histograms)
from .wsol_box_metric import format_table, read_required, sample_name, to_numpy


@METRICS.register_module()
class WSOLMaskMetric(BaseMetric):
    """PxAP (wsolevaluation's ``MaskEvaluator``) and best pixel IoU.

    Keys read from each data sample: ``pred_loc_map`` (HxW float),
    ``gt_mask`` (HxW; bool, or 0 = background / 1 = foreground / 255 =
    ignore), optional ``ignore_mask`` (HxW bool; foreground pixels are never
    ignored, as in wsolevaluation), ``img_path``/``img_id`` for errors.

    Per image only the two score histograms (GT-positive and GT-negative
    pixels, ``len(thresholds) + 2`` bins) are stored, as uint16 when the
    image has fewer than 65536 pixels and uint32 otherwise (about 4 KB per
    224x224 image at step 0.001).  ``compute_metrics`` sums them and
    returns ``PxAP``, ``PIoU`` and ``PIoU_threshold`` (percent / threshold).

    Args:
        step (float): thresholds ``np.arange(0, 1, step)``.
        thresholds (Sequence[float], optional): explicit strictly increasing
            thresholds in [0, 1) (override ``step``).
        normalize (bool): wsolevaluation min-max normalisation (NaN or
            constant map -> zeros).
    """

    def __init__(self,
                 step: float = DEFAULT_MASK_STEP,
                 thresholds: Optional[Sequence[float]] = None,
                 normalize: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.thresholds = official_thresholds(step) if thresholds is None \
            else np.asarray(thresholds, dtype=np.float64).reshape(-1)
        mask_bin_edges(self.thresholds)  # validates the list early
        self.normalize = normalize

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample_name(sample)
            loc_map = read_required(sample, 'pred_loc_map', 'WSOLMaskMetric')
            gt_mask = read_required(sample, 'gt_mask', 'WSOLMaskMetric')
            ignore = to_numpy(sample.get('ignore_mask'))
            pos, neg = mask_histograms(
                loc_map,
                gt_mask,
                self.thresholds,
                ignore_mask=ignore,
                normalize=self.normalize,
                name=name)
            dtype = np.uint16 if gt_mask.size < 2**16 else np.uint32
            self.results.append(
                dict(pos_hist=pos.astype(dtype), neg_hist=neg.astype(dtype)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pos = np.zeros(len(self.thresholds) + 2, dtype=np.int64)
        neg = np.zeros_like(pos)
        for r in results:
            pos += r['pos_hist']
            neg += r['neg_hist']
        pxap = pxap_from_histograms(pos, neg)
        piou, piou_thr = piou_from_histograms(pos, neg, self.thresholds)
        if np.isnan(pxap):
            print_log(
                'WSOLMaskMetric: no positive GT pixel or no pixel above the '
                'lowest threshold; PxAP/PIoU are NaN (wsolevaluation raises '
                'here).',
                logger='current',
                level=30)
        out = {'PxAP': pxap, 'PIoU': piou, 'PIoU_threshold': piou_thr}
        rows = [('PxAP', f'{pxap:.2f}', '-'),
                ('PIoU', f'{piou:.2f}', f'{piou_thr:g}')]
        print_log(
            format_table(
                f'WSOL official mask metrics ({len(results)} images, '
                f'{int(pos.sum())} fg / {int(neg.sum())} bg pixels)',
                ('metric', 'value (%)', 'threshold'), rows),
            logger='current')
        return out
