# Copyright (c) mmbas contributors. All rights reserved.
"""IRN's inter-pixel relation labels as the label step of the seeds."""
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from mmbas.pseudo.relation_labels import make_relation_labels
from mmbas.pseudo.seeds import sample_image


@MODELS.register_module()
class RelationLabelRefiner(nn.Module):
    """Label refiner giving IRN's relation labels instead of the argmax.

    With it, a seed config exports the training labels of IRN: per image
    :func:`mmbas.pseudo.make_relation_labels` on the normalised maps of the
    image's classes (``seg_logits`` rows ``k + 1``) and the original image:
    confident foreground (background score ``fg_threshold``), confident
    background (``bg_threshold``), each smoothed with dense CRF; 0
    background, ``k + 1`` class ``k``, 255 unknown. Written by
    ``tools/export_pseudo_labels.py`` like any mask (resumable, atomic).

    Args:
        fg_threshold (float): Defaults to 0.30 (docs/method.md section 4).
        bg_threshold (float): Defaults to 0.17 (BAS).
        use_crf (bool): Smooth both maps with dense CRF. Defaults to True.
        crf_cfg (dict, optional): Overrides of
            :func:`mmbas.pseudo.dense_crf`'s parameters (the defaults are
            those of docs/method.md section 4).
    """

    kind = 'labels'

    def __init__(self,
                 fg_threshold: float = 0.30,
                 bg_threshold: float = 0.17,
                 use_crf: bool = True,
                 crf_cfg: Optional[dict] = None):
        super().__init__()
        self.fg_threshold = float(fg_threshold)
        self.bg_threshold = float(bg_threshold)
        self.use_crf = use_crf
        self.crf_cfg = dict(crf_cfg or {})

    def forward(self, seg_logits: Tensor, classes: Tensor,
                data_sample) -> Tensor:
        """(C+1, H, W) seed logits, (K,) classes -> (1, H, W) long labels."""
        size = tuple(seg_logits.shape[-2:])
        image = sample_image(data_sample, size)
        maps = seg_logits[classes + 1].float().cpu().numpy()
        labels = make_relation_labels(
            image,
            maps,
            classes.tolist(),
            fg_thr=self.fg_threshold,
            bg_thr=self.bg_threshold,
            use_crf=self.use_crf,
            crf_cfg=self.crf_cfg)
        return torch.from_numpy(labels.astype(np.int64))[None].to(
            seg_logits.device)
