"""mmengine metrics for weakly supervised object localization."""
from .wsol_box_metric import WSOLBoxMetric
from .wsol_mask_metric import WSOLMaskMetric
from .wsol_paper_metric import WSOLPaperMetric

__all__ = ['WSOLBoxMetric', 'WSOLMaskMetric', 'WSOLPaperMetric']
from .seed_sweep_metric import SeedSweepMetric
