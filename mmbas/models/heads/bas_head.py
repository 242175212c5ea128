# Copyright (c) mmbas contributors. All rights reserved.
"""The BAS head: generator, classifier and the four BAS losses."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .base_head import BaseWSHead, check_in_channels
from .selected_class_conv import selected_class_conv2d


@MODELS.register_module()
class BASHead(BaseWSHead):
    """Head of Background Activation Suppression.

    Holds the generator (``conv3x3(C1, C)`` + sigmoid on F1, giving the
    class-specific foreground maps M) and the classifier (F2 -> class
    activation map F), and computes the four BAS losses from the outputs.
    The erased branch of the activation map constraint (``E = detach(F1) *
    (1 - M_f)`` through the backbone's f2 and this classifier with frozen
    weights) needs the backbone, so the model runs it
    (:meth:`mmbas.models.BAS.erased_forward`) between :meth:`forward` and
    :meth:`loss_by_feat`:

    * ``forward(F1, F2, y)`` -> (M_f, F), M_f = M[y] only (the generator
      computes the selected class's map alone,
      :meth:`forward_selected_generator`); without ``y``, all C maps;
    * the model: F_bg = frozen f2 + classifier on E;
    * ``loss_by_feat(M_f, F, F_bg, y, target)`` -> loss dict.

    Args:
        num_classes (int): Number of foreground classes C.
        in_channels_f1 (int, optional): Channels C1 of F1 (generator
            input). The model fills it in from the backbone's
            ``f1_channels`` when omitted.
        in_channels_f2 (int, optional): Channels C2 of F2 (classifier
            input). The model fills it in from the backbone's
            ``f2_channels`` when omitted.
        variant (str): 'wsol' (3-conv classifier, generator with bias, 2x2
            average pooled M_f in L_frg) or 'wsss' (1x1 classifier and
            generator without bias, L_frg on detached F). Defaults to 'wsol'.
        hidden_channels (int): Hidden width of the WSOL classifier.
            Defaults to 1024.
        loss_cls (dict): L_cls config; ``BASCrossEntropyLoss`` (single
            label, takes labels (N,)) or ``MultiLabelPosNegLoss`` (takes a
            multi-hot (N, C)).
        loss_frg (dict): L_frg config (``loss_weight`` = alpha).
        loss_bas (dict): L_bas config; its ``ratio`` gives the
            ``bg_ratio`` log.
        loss_area (dict): L_ac config (``loss_weight`` = beta).
        detach_cam_in_frg (bool, optional): Detach F in L_frg. Defaults to
            True for 'wsss' and False for 'wsol' (docs/method.md section 3).
        init_cfg (dict, optional): Weight init config. Defaults to None
            (PyTorch's default conv init).

    Each loss term is stored under its module's ``loss_name`` (defaults
    ``loss_cls``, ``loss_frg``, ``loss_bas``, ``loss_area``); the names
    must differ.

    Shapes:
        F1: (N, C1, h1, w1); F2: (N, C2, h2, w2); M: (N, C, h1, w1);
        M_f: (N, 1, h1, w1); F, F_bg: (N, C, h2, w2); S: (N, C);
        y: (N,) long.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels_f1: Optional[int] = None,
                 in_channels_f2: Optional[int] = None,
                 variant: str = 'wsol',
                 hidden_channels: int = 1024,
                 loss_cls: dict = dict(
                     type='BASCrossEntropyLoss', loss_weight=1.0),
                 loss_frg: dict = dict(
                     type='ForegroundGuidanceLoss', loss_weight=1.0),
                 loss_bas: dict = dict(type='BASLoss', loss_weight=1.0),
                 loss_area: dict = dict(type='AreaLoss', loss_weight=1.0),
                 detach_cam_in_frg: Optional[bool] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_classes=num_classes,
            in_channels_f1=in_channels_f1,
            in_channels_f2=in_channels_f2,
            variant=variant,
            hidden_channels=hidden_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg)
        self.detach_cam_in_frg = (
            variant == 'wsss'
            if detach_cam_in_frg is None else detach_cam_in_frg)
        self.loss_frg = MODELS.build(loss_frg)
        self.loss_bas = MODELS.build(loss_bas)
        self.loss_area = MODELS.build(loss_area)
        names = [
            m.loss_name for m in (self.loss_cls, self.loss_frg, self.loss_bas,
                                  self.loss_area)
        ]
        if len(set(names)) != len(names):
            raise ValueError(
                'the loss_name of loss_cls, loss_frg, loss_bas and '
                f'loss_area must differ (they key the loss dict), got '
                f'{names}')

    def _init_layers(self) -> None:
        """Build the generator, then the classifier (this order of the random
        draws keeps a seed's initial weights as they always were)."""
        self.in_channels_f1 = check_in_channels('BASHead', 'in_channels_f1',
                                                self.in_channels_f1,
                                                'f1_channels')
        self.generator = nn.Conv2d(
            self.in_channels_f1,
            self.num_classes,
            3,
            padding=1,
            bias=(self.variant == 'wsol'))
        super()._init_layers()

    # ------------------------------------------------------------------
    # forward pieces
    def forward_generator(self, f1: Tensor) -> Tensor:
        """F1 (N, C1, h1, w1) -> foreground maps M (N, C, h1, w1) in [0, 1]."""
        return self.generator(f1).sigmoid()

    def forward_selected_generator(self, f1: Tensor,
                                   cls_idx: Tensor) -> Tensor:
        """F1 (N, C1, h1, w1), y (N,) -> M_f = M[y] (N, 1, h1, w1).

        Equals ``gather_class_map(forward_generator(f1), cls_idx)`` but
        convolves each image with its class's filter only (see
        :func:`selected_class_conv2d`): the losses never read the other
        C - 1 maps, and computing them is most of the generator's cost.
        """
        gen = self.generator
        return selected_class_conv2d(f1, gen.weight, gen.bias,
                                     cls_idx).sigmoid()

    def forward(self,
                f1: Tensor,
                f2: Tensor,
                cls_idx: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Features -> (foreground maps, class activation map).

        Args:
            f1 (Tensor): (N, C1, h1, w1) F1.
            f2 (Tensor): (N, C2, h2, w2) F2.
            cls_idx (Tensor, optional): (N,) long, the selected class y of
                each image (training). Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: the maps in [0, 1], M (N, C, h1, w1)
            without ``cls_idx`` or M_f = M[y] (N, 1, h1, w1) with it, and
            F (N, C, h2, w2).
        """
        if cls_idx is None:
            maps = self.forward_generator(f1)
        else:
            maps = self.forward_selected_generator(f1, cls_idx)
        return maps, self.forward_classifier(f2)

    @staticmethod
    def gather_class_map(maps: Tensor, cls_idx: Tensor) -> Tensor:
        """(N, C, h, w), (N,) -> (N, 1, h, w) map of each image's class."""
        n, _, h, w = maps.shape
        index = cls_idx.view(n, 1, 1, 1).expand(n, 1, h, w)
        return maps.gather(1, index)

    # ------------------------------------------------------------------
    # losses
    def loss_by_feat(self, fg_map: Tensor, cam: Tensor, cam_bg: Tensor,
                     cls_idx: Tensor, cls_target: Tensor) -> Dict[str, Tensor]:
        """Compute the BAS losses from the head's and the erased branch's
        outputs.

        Args:
            fg_map (Tensor): (N, 1, h1, w1) M_f, the selected class's
                foreground map (:meth:`forward` with ``cls_idx``).
            cam (Tensor): (N, C, h2, w2) F of the live F2.
            cam_bg (Tensor): (N, C, h2, w2) F_bg, the class activation map
                of the erased features ``detach(F1) * (1 - M_f)`` through
                frozen f2 + classifier.
            cls_idx (Tensor): (N,) long, the selected class y per image.
            cls_target (Tensor): target of ``loss_cls``: (N,) labels for
                single-label, (N, C) multi-hot for multi-label.

        Returns:
            dict[str, Tensor]: the weighted terms under the ``loss_name``
            of ``loss_cls``, ``loss_frg``, ``loss_bas`` and ``loss_area``,
            and the detached logs ``acc`` (top-1 of S against y) and
            ``bg_ratio`` (mean clamped S_bg / S).
        """
        idx = cls_idx.view(-1, 1)
        score = self.image_scores(cam)  # (N, C)
        fg_score = score.gather(1, idx).squeeze(1)
        bg_score = self.image_scores(cam_bg).gather(1, idx).squeeze(1).to(
            fg_score.dtype)
        frg_cam = cam.detach() if self.detach_cam_in_frg else cam
        losses = dict()
        losses[self.loss_cls.loss_name] = self.loss_cls(score, cls_target)
        losses[self.loss_frg.loss_name] = self.loss_frg(
            frg_cam, fg_map, cls_idx)
        losses[self.loss_bas.loss_name] = self.loss_bas(bg_score, fg_score)
        losses[self.loss_area.loss_name] = self.loss_area(fg_map)
        losses['acc'] = self.accuracy(score, cls_idx)
        with torch.no_grad():
            losses['bg_ratio'] = self.loss_bas.ratio(bg_score, fg_score).mean()
        return losses

    def predict_maps(self, f1: Tensor,
                     f2: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Return (M (N, C, h1, w1), F (N, C, h2, w2), S (N, C))."""
        maps, cam = self.forward(f1, f2)
        return maps, cam, cam.mean(dim=(2, 3))
