"""Pure numpy/cv2 WSOL localization metrics (no torch / mmengine); the official
box protocol uses the optional C extension ``_box_sweep``."""
from .box_utils import (as_2d_map, best_iou_per_box, check_same_shape,
                        pairwise_iou_inclusive, validate_gt_boxes)
# yapf: disable
from .official_protocol import (BOX_METHODS, BOX_SWEEP_AVAILABLE,
                                DEFAULT_BOX_STEP, DEFAULT_MASK_STEP,
                                IOU_DELTAS, box_accuracy_curves,
                                check_box_method, mask_bin_edges,
                                mask_histograms, max_box_acc,
                                normalize_scoremap_official, official_box_ious,
                                official_box_ious_reference,
                                official_thresholds, piou_from_histograms,
                                pxap_from_histograms)
# yapf: enable
from .paper_protocol import (PAPER_EPS, PAPER_IOU_DELTAS,
                             largest_component_boxes, normalize_minmax_eps,
                             paper_box_ious, paper_loc_summary,
                             paper_protocol_box, topk_correct)

__all__ = [
    'as_2d_map', 'best_iou_per_box', 'check_same_shape',
    'pairwise_iou_inclusive', 'validate_gt_boxes', 'BOX_METHODS',
    'BOX_SWEEP_AVAILABLE', 'check_box_method', 'DEFAULT_BOX_STEP',
    'DEFAULT_MASK_STEP', 'IOU_DELTAS', 'box_accuracy_curves', 'mask_bin_edges',
    'mask_histograms', 'max_box_acc', 'normalize_scoremap_official',
    'official_box_ious', 'official_box_ious_reference', 'official_thresholds',
    'piou_from_histograms', 'pxap_from_histograms', 'PAPER_EPS',
    'PAPER_IOU_DELTAS', 'largest_component_boxes', 'normalize_minmax_eps',
    'paper_box_ious', 'paper_loc_summary', 'paper_protocol_box', 'topk_correct'
]
