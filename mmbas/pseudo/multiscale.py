# Copyright (c) mmbas contributors. All rights reserved.
"""Multi-scale + flip localisation maps for WSSS seeds (spec section 4).

The maps of every scale and of its horizontal flip are upsampled to the
input size, un-flipped and SUMMED; the image's classes are kept and each
class map is divided by its maximum + 1e-5.

All functions take *normalised* inputs, i.e. the output of the model's
``data_preprocessor`` (``SegDataPreProcessor``: BGR->RGB, mean/std, padding).
Typical use (e.g. ``tools/export_pseudo_labels.py``)::

    data = model.data_preprocessor(data_batch, training=False)
    seeds = multiscale_seed_maps(model, data['inputs'], labels)

where ``labels`` are the 0-based foreground indices of each image.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

MapsFn = Callable[[Tensor], Tuple[Tensor, Tensor]]
LabelsT = Union[Tensor, Sequence[int], Sequence[Tensor], Sequence[Sequence[int]]]

DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)


def _maps_fn(model: Union[torch.nn.Module, MapsFn]) -> MapsFn:
    fn = getattr(model, 'forward_maps', None)
    if fn is None:
        if not callable(model):
            raise TypeError('model must have forward_maps(inputs) -> (M, S) '
                            f'or be such a callable, got {type(model)}')
        fn = model
    return fn


def scaled_size(size: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """Size of an (H, W) image rescaled by ``scale``: rounded, at least 1."""
    h, w = size
    return max(1, int(round(h * scale))), max(1, int(round(w * scale)))


@torch.no_grad()
def multiscale_maps(model: Union[torch.nn.Module, MapsFn],
                    inputs: Tensor,
                    scales: Sequence[float] = DEFAULT_SCALES,
                    flip: bool = True,
                    img_resize_mode: str = 'bilinear',
                    *,
                    return_scores: bool = False
                    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Sum of the upsampled maps over scales and flips (not normalised).

    For each scale ``s`` the batch is resized to ``scaled_size((H, W), s)``
    (``img_resize_mode``, align_corners=False; scale 1.0 is not resized),
    concatenated with its horizontal flip into ONE batch of 2N, passed
    through ``forward_maps``; the maps (2N, C, h, w) are upsampled to
    (H, W) (bilinear, align_corners=False), the flipped half is flipped
    back and both halves are added to the sum.

    Args:
        model (nn.Module | callable): Has ``forward_maps(inputs) -> (M, S)``
            (BAS / CAM) or is such a callable. M: (N, C, h, w) >= 0.
        inputs (Tensor): (N, 3, H, W) normalised images, all of the same
            valid size (no per-image padding: crop padded images first,
            see :func:`multiscale_seed_maps` ``img_shapes``).
        scales (Sequence[float]): Rescale factors. Defaults to
            (1.0, 0.5, 1.5, 2.0).
        flip (bool): Add the horizontally flipped copy of every scale.
        img_resize_mode (str): Interpolation of the image rescale
            ('bilinear' | 'bicubic' | 'nearest'...). Defaults to 'bilinear'.
        return_scores (bool): Also return the class scores S averaged over
            all scales and flips, (N, C). Defaults to False.

    Returns:
        Tensor: (N, C, H, W) float32, the sum over ``len(scales) * (1 +
        flip)`` maps; with ``return_scores`` a tuple (maps, scores).
    """
    if inputs.dim() != 4:
        raise ValueError(f'inputs must be (N, 3, H, W), got '
                         f'{tuple(inputs.shape)}')
    if len(scales) == 0:
        raise ValueError('scales must not be empty')
    fn = _maps_fn(model)
    n = inputs.shape[0]
    size = tuple(inputs.shape[-2:])
    total = None
    score_sum = None
    for s in scales:
        x = inputs
        ssize = scaled_size(size, float(s))
        if ssize != size:
            kw = {} if img_resize_mode in ('nearest', 'area', 'nearest-exact') \
                else dict(align_corners=False)
            x = F.interpolate(x, size=ssize, mode=img_resize_mode, **kw)
        if flip:
            x = torch.cat([x, x.flip(-1)], dim=0)
        maps, scores = fn(x)
        scores = scores.float()
        scores = scores[:n] + scores[n:] if flip else scores
        score_sum = scores if score_sum is None else score_sum + scores
        maps = F.interpolate(
            maps.float(), size=size, mode='bilinear', align_corners=False)
        if flip:
            maps = maps[:n] + maps[n:].flip(-1)
        total = maps if total is None else total + maps
    if return_scores:
        return total, score_sum / (len(scales) * (2 if flip else 1))
    return total


def _labels_to_mask(labels: Optional[LabelsT], n: int, num_classes: int,
                    device) -> Optional[Tensor]:
    """(N, C) bool mask of the kept classes, or None for all."""
    if labels is None:
        return None
    if isinstance(labels, Tensor) and labels.dim() == 2 and \
            labels.shape == (n, num_classes) and labels.dtype == torch.bool:
        return labels.to(device)
    if isinstance(labels, Tensor) and labels.dim() <= 1:
        labels = [labels]
    elif n == 1 and len(labels) > 0 and not isinstance(
            labels[0], (Tensor, list, tuple)):
        labels = [labels]
    if len(labels) != n:
        raise ValueError(f'got labels for {len(labels)} images but the '
                         f'batch has {n}')
    mask = torch.zeros(n, num_classes, dtype=torch.bool, device=device)
    for i, lab in enumerate(labels):
        lab = torch.as_tensor(lab)
        if lab.dtype == torch.bool:  # a (C,) multi-hot row
            if lab.numel() != num_classes:
                raise ValueError(f'bool labels need {num_classes} entries, '
                                 f'got {lab.numel()}')
            mask[i] = lab.reshape(-1).to(device)
            continue
        lab = lab.to(torch.long).reshape(-1)
        if lab.numel() and (lab.min() < 0 or lab.max() >= num_classes):
            raise ValueError(f'class index {lab.tolist()} out of range for '
                             f'{num_classes} classes (0-based foreground)')
        mask[i, lab.to(device)] = True
    return mask


def normalise_class_maps(maps: Tensor,
                         labels: Optional[LabelsT] = None,
                         eps: float = 1e-5) -> Tensor:
    """Keep the image classes and divide each class map by its max + eps.

    Args:
        maps (Tensor): (N, C, H, W) or (C, H, W) maps (negatives clamped
            to 0).
        labels: Per image 0-based foreground class indices (a list of N
            index lists / tensors; for one image a 1-D tensor / list is
            accepted) or an (N, C) bool mask. None keeps every class.
        eps (float): Added to the max. Defaults to 1e-5.

    Returns:
        Tensor: same shape, values in [0, 1), zero for other classes.
    """
    single = maps.dim() == 3
    if single:
        maps = maps[None]
    maps = maps.float().clamp(min=0)
    out = maps / (maps.amax(dim=(2, 3), keepdim=True) + eps)
    mask = _labels_to_mask(labels, maps.shape[0], maps.shape[1], maps.device)
    if mask is not None:
        out = out * mask[:, :, None, None]
    return out[0] if single else out


@torch.no_grad()
def multiscale_seed_maps(model: Union[torch.nn.Module, MapsFn],
                         inputs: Tensor,
                         labels: Optional[LabelsT] = None,
                         scales: Sequence[float] = DEFAULT_SCALES,
                         flip: bool = True,
                         img_shapes: Optional[Sequence[Tuple[int,
                                                             int]]] = None,
                         img_resize_mode: str = 'bilinear',
                         eps: float = 1e-5) -> Union[Tensor, List[Tensor]]:
    """Normalised multi-scale + flip seed maps (spec section 4).

    ``normalise_class_maps(multiscale_maps(...), labels)``.

    Args:
        model (nn.Module | callable): Has ``forward_maps`` (BAS / CAM).
        inputs (Tensor): (N, 3, H, W) normalised batch, e.g. (1, 3, H, W)
            for one image at its original resolution.
        labels: 0-based foreground classes of each image (list of N;
            a 1-D tensor / list for N=1) or (N, C) bool; None keeps all
            classes (then use the scores to select them yourself).
        scales (Sequence[float]): Defaults to (1.0, 0.5, 1.5, 2.0).
        flip (bool): Add horizontal flips. Defaults to True.
        img_shapes (Sequence[tuple], optional): Valid (h, w) of each image
            in a padded batch (padding bottom/right, as mmseg's
            ``SegDataPreProcessor`` pads). When given, each image is
            cropped to its valid region and processed on its own (padding
            would change the maps), and a list of N (C, h_i, w_i) tensors
            is returned.
        img_resize_mode (str): Interpolation of the image rescale.
        eps (float): Added to each class max. Defaults to 1e-5.

    Returns:
        Tensor | list[Tensor]: (N, C, H, W) in [0, 1), zero for absent
        classes; or a list of (C, h_i, w_i) when ``img_shapes`` is given.
    """
    if img_shapes is None:
        total = multiscale_maps(model, inputs, scales, flip, img_resize_mode)
        return normalise_class_maps(total, labels, eps)
    n = inputs.shape[0]
    if len(img_shapes) != n:
        raise ValueError(f'{len(img_shapes)} img_shapes for a batch of {n}')
    if labels is not None and not (isinstance(labels, Tensor)
                                   and labels.dim() == 2):
        if isinstance(labels, Tensor) or (n == 1 and len(labels) > 0 and
                                          not isinstance(labels[0],
                                                         (Tensor, list,
                                                          tuple))):
            labels = [labels]
    outs = []
    for i, (h, w) in enumerate(img_shapes):
        x = inputs[i:i + 1, :, :int(h), :int(w)]
        total = multiscale_maps(model, x, scales, flip, img_resize_mode)
        lab = None if labels is None else [labels[i]]
        outs.append(normalise_class_maps(total, lab, eps)[0])
    return outs
