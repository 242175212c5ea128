# Copyright (c) mmbas contributors. All rights reserved.
"""IRN's losses on pixel pairs: boundary affinities and displacements."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.pixel_pairs import (boundary_to_affinity, pair_offsets,
                                 pair_valid_mask)
from .utils import autocast_off, to_loss_dtype


def partner_values(x: Tensor, offsets: List[Tuple[int, int]],
                   fill: float) -> Tensor:
    """Values at the partner ``p + (dy, dx)`` of every pixel ``p``.

    Args:
        x (Tensor): (N, C, H, W).
        offsets (list[tuple[int, int]]): K offsets with ``dy >= 0``
            (:func:`mmbas.models.utils.pair_offsets`).
        fill (float): Value of partners outside the grid.

    Returns:
        Tensor: (N, C, K, H, W), ``out[n, c, k, y, x] = x[n, c, y + dy_k,
        x + dx_k]`` or ``fill``.
    """
    h, w = x.shape[-2:]
    r = max(max(dy, abs(dx)) for dy, dx in offsets)
    padded = F.pad(x, (r, r, 0, r), mode='constant', value=fill)
    return torch.stack(
        [padded[..., dy:dy + h, r + dx:r + dx + w] for dy, dx in offsets],
        dim=2)


def pair_labels(label: Tensor,
                radius: int = 5,
                ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor]:
    """Classify the half-plane pairs of a relation label map.

    A pair counts when both pixels lie on the grid and neither is
    ``ignore_index``: positive background when both are 0, positive
    foreground when both carry the same class, negative when the labels
    differ (one of them may be background).

    Args:
        label (Tensor): (N, h, w) integer relation labels (0 background,
            class + 1 foreground, ``ignore_index`` unknown) on the pair grid.
        radius (int): Pair radius (see :func:`pair_offsets`).
        ignore_index (int): Unknown label. Defaults to 255.

    Returns:
        tuple[Tensor]: bool masks ``bg_pos``, ``fg_pos``, ``neg``, each
        (N, K, h, w); channel k pairs ``(y, x)`` with ``(y, x) + offset_k``.
    """
    if label.dim() != 3:
        raise ValueError(f'label must be (N, h, w), got {tuple(label.shape)}')
    label = label.long()
    offsets = pair_offsets(radius)
    src = label[:, None]  # (N, 1, h, w)
    dst = partner_values(label[:, None], offsets, ignore_index)[:, 0]
    valid = (src != ignore_index) & (dst != ignore_index)
    valid &= pair_valid_mask(
        tuple(label.shape[-2:]), radius, device=label.device)
    same = src == dst
    bg_pos = valid & same & (src == 0)
    fg_pos = valid & same & (src != 0)
    neg = valid & ~same
    return bg_pos, fg_pos, neg


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """The training loss of IRN (Ahn et al., CVPR 2019).

    Pairs: every pixel of the stride-4 grid with its half-plane neighbours
    closer than ``radius`` (:func:`mmbas.models.utils.pair_offsets`),
    classified from the relation labels by :func:`pair_labels`. The
    relation label map (full resolution) is brought to the grid by nearest
    neighbour (``label[::4, ::4]`` when the input is a multiple of 4, as
    IRN's ``cv2.resize(fx=0.25, INTER_NEAREST)``).

    Boundary term, from the affinities ``a = 1 - max B`` along each pair's
    segment (:func:`mmbas.models.utils.boundary_to_affinity`), each term a
    mean over its pairs (sum / (count + eps), so an empty set gives 0)::

        aff_bg_pos = mean_bg_pos(-log(a + eps))
        aff_fg_pos = mean_fg_pos(-log(a + eps))
        aff_neg    = mean_neg(-log(1 + eps - a))
        loss_edge  = loss_weight * ((aff_bg_pos + aff_fg_pos) / 2
                                    + aff_neg) / 2

    Displacement term, on ``d = D(p) - D(q)`` for the pair ``q = p +
    (dy, dx)`` (D in grid pixels; channel 0 = y, 1 = x), means over the
    pairs and the 2 channels::

        disp_fg   = mean_fg_pos(|d - (dy, dx)|)  (D points to the centroid)
        disp_bg   = mean_bg_pos(|d|)             (flat in the background)
        loss_disp = disp_loss_weight * (disp_fg + disp_bg) / 2

    ``loss_edge + loss_disp`` with unit weights is IRN's total loss
    (``step/train_irn.py``); IRN trains the displacement of background
    pairs through the difference ``|d|`` too, kept here.

    Args:
        radius (int): Pair radius on the grid. Defaults to 5.
        loss_weight (float): Weight of the boundary term. Defaults to 1.0.
        disp_loss_weight (float): Weight of the displacement term.
            Defaults to 1.0.
        ignore_index (int): Unknown relation label. Defaults to 255.
        eps (float): Log and count epsilon. Defaults to 1e-5 (IRN).
        loss_name (str): Key of the boundary term. Defaults to
            'loss_edge'.
        disp_loss_name (str): Key of the displacement term. Defaults to
            'loss_disp'.
    """

    def __init__(self,
                 radius: int = 5,
                 loss_weight: float = 1.0,
                 disp_loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 eps: float = 1e-5,
                 loss_name: str = 'loss_edge',
                 disp_loss_name: str = 'loss_disp'):
        super().__init__()
        self.offsets = pair_offsets(radius)
        self.radius = radius
        self.loss_weight = loss_weight
        self.disp_loss_weight = disp_loss_weight
        self.ignore_index = ignore_index
        self.eps = eps
        self._loss_name = loss_name
        self._disp_loss_name = disp_loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @property
    def disp_loss_name(self) -> str:
        return self._disp_loss_name

    def grid_labels(self, label: Tensor, size: Tuple[int, int]) -> Tensor:
        """(N, H, W) or (N, 1, H, W) relation labels -> (N, h, w) long on the
        pair grid (nearest neighbour)."""
        if label.dim() == 4 and label.shape[1] == 1:
            label = label[:, 0]
        if label.dim() != 3:
            raise ValueError('relation labels must be (N, H, W), got '
                             f'{tuple(label.shape)}')
        if tuple(label.shape[-2:]) != tuple(size):
            label = F.interpolate(
                label[:, None].float(), size=tuple(size), mode='nearest')[:, 0]
        return label.long()

    def _mean(self, values: Tensor, mask: Tensor, channels: int = 1) -> Tensor:
        """sum(values * mask) / (channels * count + eps), IRN's mean."""
        mask = mask.to(values.dtype)
        return (values * mask).sum() / (channels * mask.sum() + self.eps)

    def forward(self,
                boundary: Tensor,
                label: Tensor,
                displacement: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the loss terms.

        Args:
            boundary (Tensor): (N, 1, h, w) boundary probabilities in
                [0, 1] (sigmoid of the boundary head) on the pair grid.
            label (Tensor): (N, H, W) relation labels (any resolution;
                resized to (h, w) by nearest neighbour).
            displacement (Tensor, optional): (N, 2, h, w) displacement
                field; None skips the displacement term.

        Returns:
            dict[str, Tensor]: ``loss_name`` and (with ``displacement``)
            ``disp_loss_name``: weighted scalar losses; detached logs
            ``aff_bg_pos``, ``aff_fg_pos``, ``aff_neg`` (and ``disp_fg``,
            ``disp_bg``), the unweighted terms above.
        """
        if boundary.dim() != 4 or boundary.shape[1] != 1:
            raise ValueError('boundary must be (N, 1, h, w), got '
                             f'{tuple(boundary.shape)}')
        size = tuple(boundary.shape[-2:])
        grid = self.grid_labels(label, size)
        if grid.shape[0] != boundary.shape[0]:
            raise ValueError(f'{grid.shape[0]} label maps for '
                             f'{boundary.shape[0]} boundary maps')
        bg_pos, fg_pos, neg = pair_labels(grid, self.radius, self.ignore_index)
        eps = self.eps
        with autocast_off(boundary):
            aff = boundary_to_affinity(to_loss_dtype(boundary), self.radius)
            aff_bg = self._mean(-torch.log(aff + eps), bg_pos)
            aff_fg = self._mean(-torch.log(aff + eps), fg_pos)
            aff_neg = self._mean(-torch.log(1. + eps - aff), neg)
            losses = {
                self.loss_name:
                self.loss_weight * ((aff_bg + aff_fg) / 2 + aff_neg) / 2
            }
            logs = dict(aff_bg_pos=aff_bg, aff_fg_pos=aff_fg, aff_neg=aff_neg)
            if displacement is not None:
                disp = to_loss_dtype(displacement)
                if disp.shape != (boundary.shape[0], 2) + size:
                    raise ValueError(f'displacement must be (N, 2, h, w) = '
                                     f'{(boundary.shape[0], 2) + size}, got '
                                     f'{tuple(disp.shape)}')
                diff = disp[:, :, None] - partner_values(
                    disp, self.offsets, 0.)  # (N, 2, K, h, w)
                target = diff.new_tensor(self.offsets).t()  # (2, K)
                fg_err = (diff - target[None, :, :, None, None]).abs()
                # mean over pairs and the 2 channels
                disp_fg = self._mean(fg_err.sum(1), fg_pos, 2)
                disp_bg = self._mean(diff.abs().sum(1), bg_pos, 2)
                losses[self.disp_loss_name] = self.disp_loss_weight * (
                    disp_fg + disp_bg) / 2
                logs.update(disp_fg=disp_fg, disp_bg=disp_bg)
        losses.update({k: v.detach() for k, v in logs.items()})
        return losses
