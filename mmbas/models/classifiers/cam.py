# Copyright (c) mmbas contributors. All rights reserved.
"""Plain CAM classifier, the baseline of BAS."""
from typing import Dict, Optional, Tuple

from mmseg.registry import MODELS
from torch import Tensor

from .base_weakly_supervised import BaseWeaklySupervisedModel, SampleList


@MODELS.register_module()
class CAM(BaseWeaklySupervisedModel):
    """Backbone + BAS classifier (no generator), trained with L_cls only.

    Localisation maps are relu(F) (N, C, h2, w2); ``predict`` post-processes
    them exactly like :class:`BAS`. Single-label: L_cls = CE(S, y);
    multi-label: the configured multi-label loss on the multi-hot target.

    Args:
        backbone (dict): Backbone config (f1/f2 interface).
        head (dict): :class:`CAMHead` config.
        seed (int, optional): Accepted for config symmetry with BAS; unused.
        **kwargs: See :class:`BaseWeaklySupervisedModel`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 seed: Optional[int] = None,
                 **kwargs):
        super().__init__(backbone=backbone, head=head, **kwargs)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Return ``loss_cls`` and the log ``acc``."""
        first, multi_hot, _ = self.parse_labels(data_samples, inputs.device)
        cls_target = multi_hot if self.multi_label else first
        _, f2 = self.extract_feat(inputs)
        return self.head.loss(f2, first, cls_target)

    def forward_maps(self,
                     inputs: Tensor,
                     with_scores: bool = True) -> Tuple[Tensor, Tensor]:
        """Return relu(F) (N, C, h2, w2) and S (N, C) (the maps are the scores'
        input: S is always returned)."""
        _, f2 = self.extract_feat(inputs)
        cam, score = self.head.predict_maps(f2)
        return cam.relu(), score

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None
                 ) -> Tuple[Tensor, Tensor]:
        """Return (F, S)."""
        _, f2 = self.extract_feat(inputs)
        return self.head.predict_maps(f2)
