# Copyright (c) mmbas contributors. All rights reserved.
"""Plain CAM classifier head (the baseline of BAS)."""
from typing import Dict, Optional, Tuple

from mmseg.registry import MODELS
from torch import Tensor

from .base_head import BaseWSHead


@MODELS.register_module()
class CAMHead(BaseWSHead):
    """The BAS classifier without generator, trained with L_cls only.

    ``forward`` (F2 -> F), ``loss_by_feat`` (F + targets -> loss dict) and
    ``loss`` (both) as in mmseg's decode heads.

    Args:
        num_classes (int): Number of foreground classes C.
        in_channels_f2 (int, optional): Channels C2 of F2. The model fills
            it in from the backbone's ``f2_channels`` when omitted.
        variant (str): 'wsol' (3-conv classifier) or 'wsss' (conv1x1, no
            bias). Defaults to 'wsol'.
        hidden_channels (int): Hidden width of the WSOL classifier.
            Defaults to 1024.
        loss_cls (dict): L_cls config (see :class:`BASHead`); its
            ``loss_name`` keys the term in the loss dict.
        in_channels_f1 (int, optional): Unused (the head does not read F1);
            accepted so that a BAS head config can be reused and so that
            the model can pass the backbone's F1 channels to every head.
        init_cfg (dict, optional): Weight init config. Defaults to None.

    Shapes:
        F2: (N, C2, h2, w2); F: (N, C, h2, w2); S: (N, C); y: (N,) long.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels_f2: Optional[int] = None,
                 variant: str = 'wsol',
                 hidden_channels: int = 1024,
                 loss_cls: dict = dict(
                     type='BASCrossEntropyLoss', loss_weight=1.0),
                 in_channels_f1: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_classes=num_classes,
            in_channels_f1=in_channels_f1,
            in_channels_f2=in_channels_f2,
            variant=variant,
            hidden_channels=hidden_channels,
            loss_cls=loss_cls,
            init_cfg=init_cfg)

    def forward(self, f2: Tensor) -> Tensor:
        """F2 (N, C2, h2, w2) -> class activation map F (N, C, h2, w2)."""
        return self.forward_classifier(f2)

    def loss_by_feat(self, cam: Tensor, cls_idx: Tensor,
                     cls_target: Tensor) -> Dict[str, Tensor]:
        """Compute L_cls from the class activation map.

        Args:
            cam (Tensor): (N, C, h2, w2) F.
            cls_idx (Tensor): (N,) long, the (first) class of each image,
                for the ``acc`` log.
            cls_target (Tensor): target of ``loss_cls``: (N,) labels for
                single-label, (N, C) multi-hot for multi-label.

        Returns:
            dict[str, Tensor]: the weighted L_cls under ``loss_cls``'s
            ``loss_name`` and the detached top-1 ``acc``.
        """
        score = self.image_scores(cam)
        losses = {self.loss_cls.loss_name: self.loss_cls(score, cls_target)}
        losses['acc'] = self.accuracy(score, cls_idx)
        return losses

    def loss(self, f2: Tensor, cls_idx: Tensor,
             cls_target: Tensor) -> Dict[str, Tensor]:
        """``loss_by_feat(forward(f2), cls_idx, cls_target)``: F2 (N, C2, h2,
        w2) -> loss dict."""
        return self.loss_by_feat(self.forward(f2), cls_idx, cls_target)

    def predict_maps(self, f2: Tensor) -> Tuple[Tensor, Tensor]:
        """Return (F (N, C, h2, w2), S (N, C))."""
        cam = self.forward(f2)
        return cam, cam.mean(dim=(2, 3))
