# Copyright (c) mmbas contributors. All rights reserved.
"""The WSSS seed recipe (docs/method.md section 4), one tensor function per
step.

Every producer of seeds goes through this module: the WSSS ``predict`` of
the BAS / CAM models (one scale, no flip), :class:`SeedInferencer`
(multi-scale + flip, CAM fusion, CRF), the export tool and
``PseudoLabelExportHook`` (which both run a seed model unchanged). The
steps, for one image of a preprocessed batch:

1. :func:`valid_region` / :func:`crop_valid` -- drop the padding the data
   preprocessor added (mmseg pads bottom/right);
2. :func:`multiscale_maps` -- the maps of every scale and of its
   horizontal flip, upsampled to the valid size, un-flipped and SUMMED;
3. :func:`to_original` -- undo the test pipeline's flip, resize to
   ``ori_shape``;
4. :func:`select_classes` -- the image's classes (``gt_label``; without it
   the classes whose score exceeds ``score_thr``, at least the top-1);
5. :func:`normalise_class_maps` -- keep those classes, divide each map by
   its max + 1e-5 (:func:`fuse_maps` for the CAM fusion);
6. :func:`seed_logits` / :func:`seed_labels` -- argmax over
   ``[bg_threshold, class maps]`` (ties go to the background, then to the
   lower class), optionally leaving the uncertain band as 255.

:class:`SeedRecipe` strings the steps together for a batch of
:class:`SegDataSample`. The defaults live here and only here:
:data:`DEFAULT_SCALES` and :data:`DEFAULT_BG_THRESHOLD`.
"""
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

#: the seed scales of docs/method.md section 4 (each with its flip)
DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)
#: background score of the seed argmax (BAS's VOC value, docs/method.md
#: section 4)
DEFAULT_BG_THRESHOLD = 0.25
#: added to each class max before dividing
EPS = 1e-5
#: label value of pixels left unlabelled
IGNORE_INDEX = 255

#: ``inputs (N, 3, H, W) -> (M (N, C, h, w) >= 0, S (N, C) or None)``
MapsFn = Callable[[Tensor], Tuple[Tensor, Optional[Tensor]]]
LabelsT = Union[Tensor, Sequence[int], Sequence[Tensor],
                Sequence[Sequence[int]]]


# ----------------------------------------------------------------------------
# 1. valid region
# ----------------------------------------------------------------------------
def valid_region(meta: dict, size: Tuple[int, int]) -> Tuple[int, ...]:
    """``(top, bottom, left, right)`` of the unpadded image in a batch.

    Args:
        meta (dict): Metainfo of the sample: mmseg's ``padding_size`` /
            ``img_padding_size`` (left, right, top, bottom) when present,
            else the image occupies ``img_shape`` from the top-left corner.
        size (tuple): (H, W) of the batch.
    """
    h, w = size
    pad = meta.get('img_padding_size', meta.get('padding_size', None))
    if pad is not None:
        left, right, top, bottom = pad
        return top, h - bottom, left, w - right
    ih, iw = meta.get('img_shape', (h, w))[:2]
    return 0, min(int(ih), h), 0, min(int(iw), w)


def crop_valid(x: Tensor, meta: dict) -> Tensor:
    """Crop (..., H, W) to the valid region of ``meta`` (see
    :func:`valid_region`)."""
    top, bottom, left, right = valid_region(meta, tuple(x.shape[-2:]))
    return x[..., top:bottom, left:right]


# ----------------------------------------------------------------------------
# 2. multi-scale + flip maps
# ----------------------------------------------------------------------------
def scaled_size(size: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """Size of an (H, W) image rescaled by ``scale``: rounded, at least 1."""
    h, w = size
    return max(1, int(round(h * scale))), max(1, int(round(w * scale)))


def maps_fn_of(model, with_scores: bool = True) -> MapsFn:
    """The ``inputs -> (M, S)`` callable of a model.

    ``model.forward_maps(inputs, with_scores=...)`` (BAS / CAM: with
    ``with_scores=False`` a model may skip the work the scores need, e.g.
    BAS's f2 and classifier, and return ``S = None``), or ``model`` itself
    when it is such a callable.
    """
    fn = getattr(model, 'forward_maps', None)
    if fn is None:
        if not callable(model):
            raise TypeError('model must have forward_maps(inputs) -> (M, S) '
                            f'or be such a callable, got {type(model)}')
        return model
    return lambda x: fn(x, with_scores=with_scores)


@torch.no_grad()
def multiscale_maps(
    model: Union[torch.nn.Module, MapsFn],
    inputs: Tensor,
    scales: Sequence[float] = DEFAULT_SCALES,
    flip: bool = True,
    img_resize_mode: str = 'bilinear',
    *,
    return_scores: bool = False
) -> Union[Tensor, Tuple[Tensor, Optional[Tensor]]]:
    """Sum of the upsampled maps over scales and flips (not normalised).

    For each scale ``s`` the batch is resized to ``scaled_size((H, W), s)``
    (``img_resize_mode``, align_corners=False; scale 1.0 is not resized),
    concatenated with its horizontal flip into ONE batch of 2N and passed
    through the model; the maps (2N, C, h, w) are upsampled to (H, W)
    (bilinear, align_corners=False), the flipped half is flipped back and
    both halves are added to the sum.

    Args:
        model (nn.Module | callable): Has ``forward_maps`` (see
            :func:`maps_fn_of`) or is an ``inputs -> (M, S)`` callable.
            M: (N, C, h, w) >= 0.
        inputs (Tensor): (N, 3, H, W) normalised images without padding
            (crop with :func:`crop_valid` first).
        scales (Sequence[float]): Rescale factors.
        flip (bool): Add the horizontally flipped copy of every scale.
        img_resize_mode (str): Interpolation of the image rescale.
        return_scores (bool): Also return the class scores S averaged over
            all scales and flips, (N, C) (None when the model returned
            none).

    Returns:
        Tensor: (N, C, H, W) float32, the sum over ``len(scales) * (1 +
        flip)`` maps; with ``return_scores`` a tuple (maps, scores).
    """
    if inputs.dim() != 4:
        raise ValueError(f'inputs must be (N, 3, H, W), got '
                         f'{tuple(inputs.shape)}')
    if len(scales) == 0:
        raise ValueError('scales must not be empty')
    fn = maps_fn_of(model, with_scores=return_scores)
    n = inputs.shape[0]
    size = tuple(inputs.shape[-2:])
    total, score_sum = None, None
    for s in scales:
        x = inputs
        ssize = scaled_size(size, float(s))
        if ssize != size:
            kw = {} if img_resize_mode in ('nearest', 'area',
                                           'nearest-exact') else dict(
                                               align_corners=False)
            x = F.interpolate(x, size=ssize, mode=img_resize_mode, **kw)
        if flip:
            x = torch.cat([x, x.flip(-1)], dim=0)
        maps, scores = fn(x)
        if scores is not None:
            scores = scores.float()
            scores = scores[:n] + scores[n:] if flip else scores
            score_sum = scores if score_sum is None else score_sum + scores
        maps = F.interpolate(
            maps.float(), size=size, mode='bilinear', align_corners=False)
        if flip:
            maps = maps[:n] + maps[n:].flip(-1)
        total = maps if total is None else total + maps
    if return_scores:
        if score_sum is not None:
            score_sum = score_sum / (len(scales) * (2 if flip else 1))
        return total, score_sum
    return total


# ----------------------------------------------------------------------------
# 3. back to the original image
# ----------------------------------------------------------------------------
def to_original(maps: Tensor, meta: dict) -> Tensor:
    """Undo the test pipeline's flip and resize (K, h, w) maps of the valid
    region to ``ori_shape`` (bilinear, align_corners=False)."""
    if meta.get('flip', False):
        vertical = meta.get('flip_direction', 'horizontal') == 'vertical'
        maps = maps.flip(1) if vertical else maps.flip(2)
    ori = tuple(meta.get('ori_shape', maps.shape[-2:])[:2])
    if tuple(maps.shape[-2:]) != ori:
        maps = F.interpolate(
            maps[None], size=ori, mode='bilinear', align_corners=False)[0]
    return maps


# ----------------------------------------------------------------------------
# 4. classes
# ----------------------------------------------------------------------------
def gt_classes(data_sample, num_classes: int, device=None) -> Optional[Tensor]:
    """Sorted unique 0-based classes of ``gt_label``, or None when the sample
    has none; raises naming the image when one is out of range."""
    if 'gt_label' not in data_sample:
        return None
    gt = torch.as_tensor(data_sample.gt_label).reshape(-1).to(
        device, torch.long).unique()
    if gt.numel() == 0:
        return None
    if gt.min() < 0 or gt.max() >= num_classes:
        raise ValueError(
            f'class index {gt.tolist()} out of range for num_classes='
            f'{num_classes} in sample '
            f'{data_sample.metainfo.get("img_path", "<unknown img_path>")}')
    return gt


def select_classes(score: Optional[Tensor],
                   gt: Optional[Tensor] = None,
                   score_thr: float = 0.0) -> Tensor:
    """The classes whose maps make the seeds: ``gt`` when given, else the
    classes with ``score > score_thr`` (at least the top-1).

    Args:
        score (Tensor, optional): (C,) class scores; needed without ``gt``.
        gt (Tensor, optional): (K,) 0-based classes (see
            :func:`gt_classes`).
        score_thr (float): Score threshold without ``gt``.
    """
    if gt is not None and gt.numel():
        return gt
    if score is None:
        raise ValueError('a sample without gt_label needs class scores')
    classes = (score > score_thr).nonzero().view(-1)
    return classes if classes.numel() else score.argmax().view(1)


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
    elif n == 1 and len(labels) > 0 and not isinstance(labels[0],
                                                       (Tensor, list, tuple)):
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


# ----------------------------------------------------------------------------
# 5. normalisation and fusion
# ----------------------------------------------------------------------------
def normalise_class_maps(maps: Tensor,
                         labels: Optional[LabelsT] = None,
                         eps: float = EPS) -> Tensor:
    """Keep the image classes and divide each class map by its max + eps.

    Args:
        maps (Tensor): (N, C, H, W) or (C, H, W) maps (negatives clamped
            to 0).
        labels: Per image 0-based foreground class indices (a list of N
            index lists / tensors; for one image a 1-D tensor / list is
            accepted) or an (N, C) bool mask. None keeps every class.
        eps (float): Added to the max.

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


def fuse_maps(bas_maps: Tensor,
              cam_maps: Tensor,
              labels: Optional[LabelsT] = None,
              eps: float = EPS) -> Tensor:
    """CAM fusion: ``norm(norm(bas_maps) + norm(cam_maps))`` per class.

    Args:
        bas_maps (Tensor): (N, C, H, W) or (C, H, W) maps (e.g. summed
            multi-scale BAS maps; already normalised maps are fine).
        cam_maps (Tensor): Same shape, maps of a plain CAM network (>= 0).
        labels: Classes to keep (see :func:`normalise_class_maps`).
        eps (float): Added to each max.

    Returns:
        Tensor: Same shape, in [0, 1), zero for absent classes.
    """
    if bas_maps.shape != cam_maps.shape:
        raise ValueError(f'cannot fuse maps of shapes {tuple(bas_maps.shape)}'
                         f' and {tuple(cam_maps.shape)}')
    fused = normalise_class_maps(bas_maps, labels, eps) + \
        normalise_class_maps(cam_maps, labels, eps)
    return normalise_class_maps(fused, labels, eps)


# ----------------------------------------------------------------------------
# 6. label map
# ----------------------------------------------------------------------------
def seed_logits(loc_maps: Tensor, bg_threshold: float) -> Tensor:
    """``[bg_threshold, loc_maps]``: (C, H, W) -> (C + 1, H, W)."""
    bg = loc_maps.new_full((1, ) + tuple(loc_maps.shape[-2:]),
                           float(bg_threshold))
    return torch.cat([bg, loc_maps])


def seed_labels(seg_logits: Tensor,
                fg_threshold: Optional[float] = None) -> Tensor:
    """Label map (1, H, W) long of :func:`seed_logits`.

    argmax over ``[bg, class maps]`` (0 = background, ``k + 1`` = class
    ``k``; ties go to the first entry, i.e. the background, then the lower
    class). With ``fg_threshold`` a pixel whose best class score lies in
    ``(bg, fg_threshold)`` becomes 255 (ignore): the uncertain band between
    a background and a foreground threshold.
    """
    label = seg_logits.argmax(0, keepdim=True)
    if fg_threshold is not None:
        bg = seg_logits[0]
        best = seg_logits[1:].amax(0) if seg_logits.shape[0] > 1 else bg
        if float(fg_threshold) < float(bg.flatten()[0]):
            raise ValueError(f'fg_threshold {fg_threshold} must not be '
                             f'below bg_threshold {float(bg.flatten()[0])}')
        label[0][(best > bg) & (best < float(fg_threshold))] = IGNORE_INDEX
    return label


def sample_image(data_sample,
                 size: Optional[Tuple[int, int]] = None,
                 channel_order: str = 'rgb'):
    """The original image of a sample (``img_path``) as (H, W, 3) uint8,
    resized to ``size`` (H, W) when it differs -- the image the refiners (CRF,
    relation labels, IRN) look at, in the frame of ``ori_shape``."""
    import mmcv
    path = data_sample.metainfo.get('img_path')
    if path is None:
        raise ValueError('refinement needs img_path in the metainfo')
    img = mmcv.imread(path, channel_order=channel_order)
    if img is None:
        raise OSError(f'image {path} is unreadable')
    if size is not None and img.shape[:2] != tuple(size):
        img = mmcv.imresize(img, (size[1], size[0]))
    return img


# ----------------------------------------------------------------------------
# the recipe
# ----------------------------------------------------------------------------
#: ``refine(seg_logits (C+1, H, W), classes (K,), data_sample) ->
#: (1, H, W) long labels`` (e.g. dense CRF, relation labels)
RefineFn = Callable[[Tensor, Tensor, object], Tensor]
#: ``refine_maps(loc_maps (C, H, W), classes (K,), data_sample) ->
#: (C, H, W) maps`` (e.g. the IRN random walk)
RefineMapsFn = Callable[[Tensor, Tensor, object], Tensor]


class SeedRecipe:
    """The seed recipe of a batch of preprocessed images.

    Per sample (:meth:`predict`): valid region -> summed multi-scale + flip
    maps (:func:`multiscale_maps`, mean scores S) -> :func:`to_original`
    -> :func:`select_classes` -> :func:`normalise_class_maps` (or
    :func:`fuse_maps` with a CAM model) (-> ``refine_maps``) ->
    :func:`seed_logits` / :func:`seed_labels` (-> ``refine``).

    Output fields of each :class:`SegDataSample` (at ``ori_shape``):
    ``loc_maps`` (C, H, W) normalised maps (zero for absent classes),
    ``pred_loc_map`` (H, W) their max, ``seg_logits`` (C+1, H, W) =
    ``[bg_threshold, loc_maps]``, ``pred_sem_seg`` (1, H, W) labels,
    ``pred_classes`` (K,), ``pred_score`` (C,) mean S when the scores were
    computed; with ``refine`` the refined ``pred_sem_seg`` and the
    unrefined one as ``seed_sem_seg``.

    Scores are only computed when a sample has no ``gt_label`` (or with
    ``with_scores``), so a BAS model runs F1 and the generator only.

    Args:
        scales (Sequence[float]): Rescale factors. Defaults to
            :data:`DEFAULT_SCALES`.
        flip (bool): Horizontal flip per scale. Defaults to True.
        bg_threshold (float): Background score. Defaults to
            :data:`DEFAULT_BG_THRESHOLD`.
        fg_threshold (float, optional): Uncertain band left as 255, see
            :func:`seed_labels`. Defaults to None.
        score_thr (float): Class selection without ``gt_label``.
        img_resize_mode (str): Interpolation of the image rescale.
        with_scores (bool): Always compute ``pred_score``.
    """

    def __init__(self,
                 scales: Sequence[float] = DEFAULT_SCALES,
                 flip: bool = True,
                 bg_threshold: float = DEFAULT_BG_THRESHOLD,
                 fg_threshold: Optional[float] = None,
                 score_thr: float = 0.0,
                 img_resize_mode: str = 'bilinear',
                 with_scores: bool = False):
        self.scales = tuple(float(s) for s in scales)
        if not self.scales:
            raise ValueError('scales must not be empty')
        self.flip = bool(flip)
        self.bg_threshold = float(bg_threshold)
        self.fg_threshold = None if fg_threshold is None else float(
            fg_threshold)
        if self.fg_threshold is not None and \
                self.fg_threshold < self.bg_threshold:
            raise ValueError(f'fg_threshold {fg_threshold} must not be '
                             f'below bg_threshold {bg_threshold}')
        self.score_thr = float(score_thr)
        self.img_resize_mode = img_resize_mode
        self.with_scores = bool(with_scores)

    def __repr__(self) -> str:
        return (f'SeedRecipe(scales={self.scales}, flip={self.flip}, '
                f'bg_threshold={self.bg_threshold}, fg_threshold='
                f'{self.fg_threshold}, score_thr={self.score_thr})')

    def maps(self, model, inputs: Tensor, metas: Sequence[dict],
             with_scores: bool) -> List[Tuple[Tensor, Optional[Tensor]]]:
        """Summed maps at ``ori_shape`` and mean scores of each sample.

        Samples whose valid region is the whole batch run as one batch;
        padded samples run one by one on their valid crop (padding would
        change the maps).

        Returns:
            list: per sample ``(maps (C, H_ori, W_ori), score (C,) or
            None)``.
        """
        size = tuple(inputs.shape[-2:])
        full = [
            valid_region(m, size) == (0, size[0], 0, size[1]) for m in metas
        ]
        out: List = [None] * len(metas)
        groups = [[i for i, f in enumerate(full) if f]]
        groups += [[i] for i, f in enumerate(full) if not f]
        for idx in groups:
            if not idx:
                continue
            x = inputs[idx] if len(idx) < len(metas) else inputs
            if len(idx) == 1:
                x = crop_valid(x, metas[idx[0]])
            maps, score = multiscale_maps(
                maps_fn_of(model, with_scores),
                x,
                self.scales,
                self.flip,
                self.img_resize_mode,
                return_scores=True)
            for j, i in enumerate(idx):
                out[i] = (to_original(maps[j], metas[i]),
                          None if score is None else score[j])
        return out

    @torch.no_grad()
    def predict(self,
                model,
                inputs: Tensor,
                data_samples: Sequence,
                num_classes: int,
                cam_model=None,
                refine: Optional[RefineFn] = None,
                refine_maps: Optional[RefineMapsFn] = None) -> Sequence:
        """Seeds of a preprocessed batch; sets the fields of the class doc on
        ``data_samples`` and returns them.

        Args:
            model: BAS / CAM model (``forward_maps``).
            inputs (Tensor): (N, 3, H, W) output of the data preprocessor.
            data_samples (Sequence[SegDataSample]): their metainfo
                (``img_shape``, ``padding_size``, ``ori_shape``, ``flip``)
                and ``gt_label``.
            num_classes (int): C.
            cam_model (optional): Plain CAM model to fuse with.
            refine (callable, optional): Label refinement, see
                :data:`RefineFn`.
            refine_maps (callable, optional): Map refinement applied to
                the normalised maps before the label step (the refined
                maps become ``loc_maps``), see :data:`RefineMapsFn`.
        """
        device = inputs.device
        gts = [gt_classes(ds, num_classes, device) for ds in data_samples]
        with_scores = self.with_scores or any(g is None for g in gts)
        metas = [ds.metainfo for ds in data_samples]
        raw = self.maps(model, inputs, metas, with_scores)
        cam_raw = None if cam_model is None else self.maps(
            cam_model, inputs, metas, False)
        for i, ds in enumerate(data_samples):
            maps, score = raw[i]
            classes = select_classes(score, gts[i], self.score_thr)
            mask = torch.zeros(num_classes, dtype=torch.bool, device=device)
            mask[classes] = True
            if cam_raw is None:
                loc_maps = normalise_class_maps(maps, mask[None])
            else:
                loc_maps = fuse_maps(maps[None], cam_raw[i][0][None],
                                     mask[None])[0]
            if refine_maps is not None:
                loc_maps = refine_maps(loc_maps, classes, ds)
            logits = seed_logits(loc_maps, self.bg_threshold)
            pred = seed_labels(logits, self.fg_threshold)
            fields = dict(
                pred_classes=classes,
                loc_maps=loc_maps,
                pred_loc_map=loc_maps.amax(0),
                seg_logits=PixelData(data=logits),
                pred_sem_seg=PixelData(data=pred))
            if score is not None:
                fields['pred_score'] = score
            if refine is not None:
                fields['seed_sem_seg'] = PixelData(data=pred)
                fields['pred_sem_seg'] = PixelData(
                    data=refine(logits, classes, ds))
            ds.set_data(fields)
        return data_samples
