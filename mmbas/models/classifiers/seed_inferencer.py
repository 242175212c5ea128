# Copyright (c) mmbas contributors. All rights reserved.
"""Multi-scale + flip WSSS seed inference wrapper (spec section 4)."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from mmbas.pseudo.crf import SEED_REFINERS
from mmbas.pseudo.fusion import fuse_maps
from mmbas.pseudo.multiscale import (DEFAULT_SCALES, multiscale_maps,
                                     normalise_class_maps)
from mmbas.utils.checkpoint import (load_state_dict_strict,
                                    load_weights_only)

SampleList = List[SegDataSample]


@MODELS.register_module()
class SeedInferencer(BaseModel):
    """Wrap a BAS (or CAM) model for multi-scale + flip seed inference.

    Like mmseg's ``SegTTAModel``, it is the ``model`` of a test config and
    loads the wrapped model's checkpoint as ``module.*``... except that the
    checkpoints of BAS / CAM training have no ``module.`` prefix: the
    wrapper therefore maps a plain checkpoint onto ``module`` when loading
    (see :meth:`_load_from_state_dict`), so ``tools/test.py CONFIG CKPT``
    works with the training checkpoint.

    Per image (``test_step`` / ``predict``): the module's data_preprocessor
    normalises the batch; the valid region (padding removed) is run at
    every scale with its flip (one batch of 2 per scale); the maps are
    upsampled, un-flipped and summed; the test pipeline's flip is undone;
    the sum is resized to ``ori_shape`` (bilinear) if the pipeline resized
    the image; the image's classes are kept (``gt_label``; without it the
    classes whose mean score S > ``score_thr``, at least the top-1) and
    each map is divided by its max + 1e-5. With ``cam_module`` the CAM maps
    (same procedure) are fused: norm(norm(BAS) + norm(CAM)).

    Output fields of each :class:`SegDataSample` (at ``ori_shape``):
    ``loc_maps`` (C, H, W) normalised maps (zero for absent classes),
    ``seg_logits`` (C+1, H, W) = [bg_threshold, loc_maps], ``pred_sem_seg``
    (1, H, W) argmax (ties -> background, then the lower class),
    ``pred_score`` (C,) mean S of the BAS model, ``pred_classes``; with
    ``crf`` the CRF-refined ``pred_sem_seg`` (and the unrefined one as
    ``seed_sem_seg``).

    Args:
        module (dict | nn.Module): BAS / CAM config (``variant='wsss'`` head;
            its data_preprocessor is used).
        scales (Sequence[float]): Defaults to (1.0, 0.5, 1.5, 2.0).
        flip (bool): Horizontal flip per scale. Defaults to True.
        bg_threshold (float): Background score. Defaults to 0.25.
        cam_module (dict | nn.Module, optional): CAM model to fuse with.
        cam_checkpoint (str, optional): Its weights (loaded at build time;
            the main checkpoint is loaded by the runner).
        crf (dict, optional): ``type`` a name in
            :data:`mmbas.pseudo.crf.SEED_REFINERS` (default 'dense_crf')
            plus its arguments; ``mode`` 'labels' (default: refine the
            argmax label map over [bg, image classes] with ``gt_prob``) or
            'probs' (the maps as unary, background = bg_threshold).
        score_thr (float): Class selection without ``gt_label``.
        img_resize_mode (str): Interpolation of the image rescale.
        data_preprocessor (dict, optional): Ignored by the computation (the
            module's is used); kept for config compatibility.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 scales: Sequence[float] = DEFAULT_SCALES,
                 flip: bool = True,
                 bg_threshold: float = 0.25,
                 cam_module: Optional[Union[dict, nn.Module]] = None,
                 cam_checkpoint: Optional[str] = None,
                 crf: Optional[dict] = None,
                 score_thr: float = 0.0,
                 img_resize_mode: str = 'bilinear',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.module = MODELS.build(module) if isinstance(module,
                                                         dict) else module
        self.cam_module = None
        if cam_module is not None:
            self.cam_module = MODELS.build(cam_module) if isinstance(
                cam_module, dict) else cam_module
            if cam_checkpoint:
                # only its weights are used: read weights-only (no code of
                # the file runs, see docs/compatibility.md), loaded strictly
                load_state_dict_strict(
                    self.cam_module, load_weights_only(cam_checkpoint),
                    cam_checkpoint, hint='give the checkpoint of a CAM '
                    'trained with the cam_module config')
        self.cam_checkpoint = cam_checkpoint
        # the module's preprocessor does the work (see test_step)
        self.data_preprocessor = self.module.data_preprocessor
        self.scales = tuple(float(s) for s in scales)
        self.flip = flip
        self.bg_threshold = float(bg_threshold)
        self.score_thr = float(score_thr)
        self.img_resize_mode = img_resize_mode
        self.crf = None
        if crf is not None:
            crf = dict(crf)
            name = crf.pop('type', 'dense_crf')
            if name not in SEED_REFINERS:
                raise KeyError(f'unknown crf type {name!r}; registered: '
                               f'{sorted(SEED_REFINERS)}')
            mode = crf.pop('mode', 'labels')
            if mode not in ('labels', 'probs'):
                raise ValueError(f'crf mode must be labels|probs, got {mode}')
            self.crf = (SEED_REFINERS[name], mode, crf)

    # ------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.module.num_classes

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Accept checkpoints of the bare BAS/CAM model (keys without the
        ``module.`` prefix)."""
        mod = prefix + 'module.'
        if not any(k.startswith(mod) for k in state_dict):
            bare = [k for k in list(state_dict) if k.startswith(prefix)
                    and not k.startswith(prefix + 'cam_module.')]
            for k in bare:
                state_dict[mod + k[len(prefix):]] = state_dict.pop(k)
        cam = prefix + 'cam_module.'
        if self.cam_module is not None and not any(
                k.startswith(cam) for k in state_dict):
            # the CAM weights come from cam_checkpoint, not the main one
            for k, v in self.cam_module.state_dict().items():
                state_dict[cam + k] = v
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    # ------------------------------------------------------------------
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'predict'):
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.module(inputs, data_samples, mode='tensor')
        raise RuntimeError(f'SeedInferencer supports predict/tensor modes, '
                           f'got "{mode}" (train the wrapped model instead)')

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """Preprocess with the module's data_preprocessor, then predict."""
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    val_step = test_step

    # ------------------------------------------------------------------
    @staticmethod
    def _valid_hw(meta: dict, size) -> tuple:
        """(top, bottom, left, right) crop of the valid region."""
        h, w = size
        pad = meta.get('img_padding_size', meta.get('padding_size', None))
        if pad is not None:
            left, right, top, bottom = pad
            return top, h - bottom, left, w - right
        ih, iw = meta.get('img_shape', (h, w))[:2]
        return 0, min(ih, h), 0, min(iw, w)

    def _raw_maps(self, model, x: Tensor, meta: dict):
        """Summed multi-scale maps of one valid image (1, 3, h, w) ->
        ((C, H_ori, W_ori), mean score (C,))."""
        maps, score = multiscale_maps(
            model,
            x,
            self.scales,
            self.flip,
            self.img_resize_mode,
            return_scores=True)
        maps, score = maps[0], score[0]
        if meta.get('flip', False):
            direction = meta.get('flip_direction', 'horizontal')
            maps = maps.flip(1) if direction == 'vertical' else maps.flip(2)
        ori = tuple(meta.get('ori_shape', maps.shape[-2:])[:2])
        if tuple(maps.shape[-2:]) != ori:
            maps = F.interpolate(
                maps[None], size=ori, mode='bilinear',
                align_corners=False)[0]
        return maps, score

    def _classes(self, ds: SegDataSample, score: Tensor) -> Tensor:
        if 'gt_label' in ds:
            gt = torch.as_tensor(ds.gt_label).reshape(-1).to(
                score.device, torch.long).unique()
            if gt.numel():
                if gt.min() < 0 or gt.max() >= self.num_classes:
                    raise ValueError(
                        f'class index out of range for num_classes='
                        f'{self.num_classes} in sample '
                        f'{ds.metainfo.get("img_path")}')
                return gt
        classes = (score > self.score_thr).nonzero().view(-1)
        return classes if classes.numel() else score.argmax().view(1)

    @torch.no_grad()
    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """Seeds of a preprocessed batch (N, 3, H, W); see the class doc."""
        size = tuple(inputs.shape[-2:])
        if data_samples is None:
            data_samples = [
                SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
                for _ in range(inputs.shape[0])
            ]
        for i, ds in enumerate(data_samples):
            meta = ds.metainfo
            top, bottom, left, right = self._valid_hw(meta, size)
            x = inputs[i:i + 1, :, top:bottom, left:right]
            maps, score = self._raw_maps(self.module, x, meta)
            classes = self._classes(ds, score)
            mask = torch.zeros(
                self.num_classes, dtype=torch.bool, device=maps.device)
            mask[classes] = True
            loc_maps = normalise_class_maps(maps[None], mask[None])[0]
            if self.cam_module is not None:
                cam_maps, _ = self._raw_maps(self.cam_module, x, meta)
                loc_maps = fuse_maps(maps[None], cam_maps[None],
                                     mask[None])[0]
            bg = loc_maps.new_full((1, ) + loc_maps.shape[-2:],
                                   self.bg_threshold)
            seg_logits = torch.cat([bg, loc_maps])
            pred = seg_logits.argmax(0, keepdim=True)
            fields = dict(
                pred_score=score,
                pred_classes=classes,
                loc_maps=loc_maps,
                pred_loc_map=loc_maps.amax(0),
                seg_logits=PixelData(data=seg_logits),
                pred_sem_seg=PixelData(data=pred))
            if self.crf is not None:
                fields['seed_sem_seg'] = PixelData(data=pred)
                fields['pred_sem_seg'] = PixelData(
                    data=self._refine(seg_logits, classes, meta))
            ds.set_data(fields)
        return data_samples

    def _refine(self, seg_logits: Tensor, classes: Tensor,
                meta: dict) -> Tensor:
        """CRF over [bg, image classes]; returns (1, H, W) long labels."""
        import mmcv
        fn, mode, kwargs = self.crf
        path = meta.get('img_path')
        if path is None:
            raise ValueError('crf needs img_path in the metainfo')
        img = mmcv.imread(path, channel_order='rgb')
        h, w = seg_logits.shape[-2:]
        if img.shape[:2] != (h, w):
            img = mmcv.imresize(img, (w, h))
        keep = torch.cat([classes.new_zeros(1), classes + 1])
        sub = seg_logits[keep].cpu().numpy()
        if mode == 'labels':
            q = fn(img, labels=sub.argmax(0), n_labels=len(keep), **kwargs)
        else:
            q = fn(img, probs=sub, **kwargs)
        lab = torch.from_numpy(np.asarray(q).argmax(0)).to(keep.device)
        return keep[lab][None]
