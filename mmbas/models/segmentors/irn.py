# Copyright (c) mmbas contributors. All rights reserved.
"""The inter-pixel relation network (IRN)."""
import math
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

SampleList = List[SegDataSample]


def _img_path(data_sample) -> str:
    return str(data_sample.metainfo.get('img_path', '<unknown img_path>'))


@MODELS.register_module()
class IRN(BaseModel):
    """Inter-pixel relation network (Ahn et al., CVPR 2019).

    The refinement network of BAS's published WSSS masks (docs/method.md,
    section 4): from relation labels (confident foreground / background /
    unknown, :func:`mmbas.pseudo.make_relation_labels`) it learns a
    class-boundary map B and a displacement field D on the stride-4 grid;
    the random walk (:mod:`mmbas.pseudo.random_walk`) then spreads the
    seeds within the regions B delimits.

    A frozen backbone (IRN: ImageNet ResNet-50, :class:`IRNResNet`) feeds
    its five stages to the boundary head (:class:`IRNBoundaryHead`) and the
    displacement head (:class:`IRNDisplacementHead`); only the heads learn.
    With ``freeze_backbone`` (IRN's setting) the backbone's parameters get
    ``requires_grad=False``, it stays in eval mode (BN statistics frozen)
    in ``train()``, and its features are computed without autograd (so
    detached).

    Training (``mode='loss'``) reads the relation label map of each sample
    from ``gt_sem_seg`` (0 background, class + 1, 255 unknown; padding is
    255) and returns the :class:`AffinityLoss` terms.

    Prediction (``mode='predict'``) sets on each :class:`SegDataSample`:

    * ``pred_boundary``: ``PixelData``, data (1, h, w) float in [0, 1], the
      boundary map B on the stride-``s`` grid of the network input, the
      padding removed: ``h = ceil(H_valid / s)``, ``w = ceil(W_valid / s)``
      for the valid (unpadded) input size; with ``test_cfg.flip`` the
      logits of the image and of its mirror image are averaged before the
      sigmoid (IRN's inference);
    * ``pred_displacement``: ``PixelData``, data (2, h, w) float, D in grid
      pixels (channel 0 = dy, 1 = dx), from the unflipped image;
    * metainfo ``irn_stride``: ``s`` (``output_stride``, 4), input pixels
      per grid pixel.

    ``mode='tensor'`` returns the raw ``(boundary logits (N, 1, h, w),
    displacement (N, 2, h, w))`` of the padded batch.

    Args:
        backbone (dict): Backbone returning the five stages (as
            :class:`IRNResNet`), the first one on the stride-4 grid.
        boundary_head (dict): :class:`IRNBoundaryHead` config.
        displacement_head (dict): :class:`IRNDisplacementHead` config.
        loss (dict): Loss config. Defaults to
            ``dict(type='AffinityLoss')`` (radius 5).
        data_preprocessor (dict | nn.Module, optional): mmseg
            ``SegDataPreProcessor`` config (``seg_pad_val=255``).
        freeze_backbone (bool): Freeze the backbone as IRN does.
            Defaults to True.
        output_stride (int): Stride of the output grid, that of the first
            backbone stage (``ceil(H / s)`` rows for an H-row input).
            Defaults to 4 (:class:`IRNResNet`).
        train_cfg (dict, optional): Unused; accepted for symmetry with the
            other models.
        test_cfg (dict, optional): ``flip`` (bool, default True): average
            the boundary logits with those of the mirrored input.
        init_cfg (dict, optional): Init config (the backbone's ImageNet
            weights go in ``backbone.init_cfg``).
    """

    def __init__(self,
                 backbone: dict,
                 boundary_head: dict,
                 displacement_head: dict,
                 loss: dict = dict(type='AffinityLoss'),
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 freeze_backbone: bool = True,
                 output_stride: int = 4,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.boundary_head = MODELS.build(boundary_head)
        self.displacement_head = MODELS.build(displacement_head)
        self.loss_affinity = MODELS.build(loss)
        self.freeze_backbone = freeze_backbone
        self.output_stride = int(output_stride)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(flip=True)
        self.test_cfg.update(test_cfg or {})
        if freeze_backbone:
            for param in self.backbone.parameters():
                param.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> 'IRN':
        """Set train / eval mode; a frozen backbone stays in eval mode."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           'predict and tensor mode')

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> the backbone's five stages (detached when the
        backbone is frozen)."""
        if inputs.dim() != 4:
            raise ValueError(
                f'inputs must be (N, 3, H, W), got {tuple(inputs.shape)}')
        if self.freeze_backbone:
            with torch.no_grad():
                feats = self.backbone(inputs)
            return tuple(f.detach() for f in feats)
        return tuple(self.backbone(inputs))

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None
                 ) -> Tuple[Tensor, Tensor]:
        """Return boundary logits (N, 1, h, w) and the displacement field (N,
        2, h, w) on the stride-4 grid."""
        feats = self.extract_feat(inputs)
        return self.boundary_head(feats), self.displacement_head(feats)

    # ------------------------------------------------------------------
    @staticmethod
    def _relation_labels(data_samples: Optional[SampleList]) -> Tensor:
        if not data_samples:
            raise ValueError('IRN training needs data_samples with the '
                             'relation labels in gt_sem_seg')
        labels = []
        for ds in data_samples:
            if 'gt_sem_seg' not in ds:
                raise ValueError(
                    f'sample {_img_path(ds)} has no gt_sem_seg: IRN trains '
                    'on relation label maps; add LoadAnnotations to the '
                    'train pipeline and point data_prefix.seg_map_path at '
                    'the relation labels folder')
            labels.append(
                ds.gt_sem_seg.data.reshape(ds.gt_sem_seg.data.shape[-2:]))
        shapes = {tuple(lab.shape) for lab in labels}
        if len(shapes) != 1:
            raise ValueError(f'relation label maps of one batch differ in '
                             f'size {sorted(shapes)}: set the data '
                             'preprocessor size to the crop size')
        return torch.stack(labels)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Return the :class:`AffinityLoss` terms (``loss_edge``, ``loss_disp``
        and the detached logs)."""
        labels = self._relation_labels(data_samples).to(inputs.device)
        if labels.shape[-2:] != inputs.shape[-2:]:
            raise ValueError(
                f'relation labels {tuple(labels.shape[-2:])} do not match '
                f'the input size {tuple(inputs.shape[-2:])}')
        logits, disp = self._forward(inputs)
        return self.loss_affinity(torch.sigmoid(logits), labels, disp)

    # ------------------------------------------------------------------
    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """Predict the boundary map and the displacement field (see the class
        docstring for the fields)."""
        logits, disp = self._forward(inputs)
        if self.test_cfg['flip']:
            logits_flip, _ = self._forward(inputs.flip(-1))
            logits = logits / 2 + logits_flip.flip(-1) / 2
        boundary = torch.sigmoid(logits).float()
        disp = disp.float()
        size = tuple(inputs.shape[-2:])
        stride = self.output_stride
        grid = (math.ceil(size[0] / stride), math.ceil(size[1] / stride))
        if tuple(boundary.shape[-2:]) != grid:
            raise ValueError(
                f'the heads give a {tuple(boundary.shape[-2:])} grid for a '
                f'{size} input, not the stride-{stride} grid {grid}: set '
                'output_stride to the stride of the first backbone stage')
        if data_samples is None:
            data_samples = [
                SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
                for _ in range(inputs.shape[0])
            ]
        for i, ds in enumerate(data_samples):
            rows, cols = self._valid_grid(ds.metainfo, size, stride, grid)
            ds.set_metainfo(dict(irn_stride=stride))
            ds.set_data(
                dict(
                    pred_boundary=PixelData(data=boundary[i, :, rows, cols]),
                    pred_displacement=PixelData(data=disp[i, :, rows, cols])))
        return data_samples

    @staticmethod
    def _valid_grid(meta: dict, size: Tuple[int, int], stride: int,
                    grid: Tuple[int, int]) -> Tuple[slice, slice]:
        """Grid rows / columns of the valid (unpadded) input region."""
        h, w = size
        pad = meta.get('img_padding_size', meta.get('padding_size', None))
        if pad is not None:
            left, right, top, bottom = (int(v) for v in pad)
        else:
            ih, iw = meta.get('img_shape', size)[:2]
            left, top = 0, 0
            right, bottom = max(w - int(iw), 0), max(h - int(ih), 0)
        rows = slice(
            math.ceil(top / stride),
            min(grid[0], math.ceil((h - bottom) / stride)))
        cols = slice(
            math.ceil(left / stride),
            min(grid[1], math.ceil((w - right) / stride)))
        return rows, cols
