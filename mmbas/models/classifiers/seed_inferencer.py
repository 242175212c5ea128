# Copyright (c) mmbas contributors. All rights reserved.
"""Multi-scale + flip WSSS seed inference wrapper (docs/method.md, section
4)."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from mmbas.pseudo.crf import SEED_REFINERS
from mmbas.pseudo.seeds import (DEFAULT_BG_THRESHOLD, DEFAULT_SCALES,
                                SeedRecipe, sample_image)
from mmbas.utils.checkpoint import load_state_dict_strict, load_weights_only

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

    ``test_step`` / ``predict``: the module's data_preprocessor normalises
    the batch, then :class:`mmbas.pseudo.seeds.SeedRecipe` makes the seeds
    (the one seed recipe of mmbas: valid region, multi-scale + flip sum,
    test flip undone, resize to ``ori_shape``, image classes, max
    normalisation, ``[bg, maps]`` argmax); with ``cam_module`` the CAM maps
    (same procedure) are fused, norm(norm(BAS) + norm(CAM)); with ``crf``
    the label map is refined. The output fields are those of
    :class:`~mmbas.pseudo.seeds.SeedRecipe`. ``tools/test.py`` scores
    exactly the label maps that ``tools/export_pseudo_labels.py`` writes
    with the same config.

    Args:
        module (dict | nn.Module): BAS / CAM config (``variant='wsss'`` head;
            its data_preprocessor is used).
        scales (Sequence[float]): Defaults to
            :data:`mmbas.pseudo.seeds.DEFAULT_SCALES`.
        flip (bool): Horizontal flip per scale. Defaults to True.
        bg_threshold (float): Background score. Defaults to
            :data:`mmbas.pseudo.seeds.DEFAULT_BG_THRESHOLD`.
        fg_threshold (float, optional): Leave the pixels whose best class
            score lies between ``bg_threshold`` and this value unlabelled
            (255). Defaults to None.
        cam_module (dict | nn.Module, optional): CAM model to fuse with.
        cam_checkpoint (str, optional): Its weights (loaded at build time;
            the main checkpoint is loaded by the runner).
        crf (dict, optional): ``type`` a name in
            :data:`mmbas.pseudo.crf.SEED_REFINERS` (default 'dense_crf')
            plus its arguments; ``mode`` 'labels' (default: refine the
            argmax label map over [bg, image classes] with ``gt_prob``) or
            'probs' (the maps as unary, background = bg_threshold).
        refiner (dict | nn.Module, optional): A registered seed refiner with
            ``kind`` 'maps' (called on the normalised maps before the label
            step: ``refiner(loc_maps, classes, data_sample) -> loc_maps``,
            e.g. :class:`~mmbas.models.refiners.IRNWalkRefiner`) or
            'labels' (its ``(1, H, W)`` labels replace ``pred_sem_seg``,
            e.g. :class:`~mmbas.models.refiners.RelationLabelRefiner`).
            Its weights come from its own checkpoint, not the main one.
        score_thr (float): Class selection without ``gt_label``.
        img_resize_mode (str): Interpolation of the image rescale.
        with_scores (bool): Also compute ``pred_score`` (mean S) when the
            samples have ``gt_label`` (BAS then runs f2 and the classifier
            too). Defaults to False.
        data_preprocessor (dict, optional): Ignored by the computation (the
            module's is used); kept for config compatibility.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 scales: Sequence[float] = DEFAULT_SCALES,
                 flip: bool = True,
                 bg_threshold: float = DEFAULT_BG_THRESHOLD,
                 fg_threshold: Optional[float] = None,
                 cam_module: Optional[Union[dict, nn.Module]] = None,
                 cam_checkpoint: Optional[str] = None,
                 crf: Optional[dict] = None,
                 refiner: Optional[Union[dict, nn.Module]] = None,
                 score_thr: float = 0.0,
                 img_resize_mode: str = 'bilinear',
                 with_scores: bool = False,
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
                    self.cam_module,
                    load_weights_only(cam_checkpoint),
                    cam_checkpoint,
                    hint='give the checkpoint of a CAM '
                    'trained with the cam_module config')
        self.cam_checkpoint = cam_checkpoint
        # the module's preprocessor does the work (see test_step)
        self.data_preprocessor = self.module.data_preprocessor
        self.recipe = SeedRecipe(
            scales=scales,
            flip=flip,
            bg_threshold=bg_threshold,
            fg_threshold=fg_threshold,
            score_thr=score_thr,
            img_resize_mode=img_resize_mode,
            with_scores=with_scores)
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
        self.refiner = None
        if refiner is not None:
            self.refiner = MODELS.build(refiner) if isinstance(
                refiner, dict) else refiner
            kind = getattr(self.refiner, 'kind', None)
            if kind not in ('maps', 'labels'):
                raise ValueError(
                    f'refiner {type(self.refiner).__name__} must have kind '
                    f"'maps' or 'labels', got {kind!r}")
            if kind == 'labels' and self.crf is not None:
                raise ValueError('crf and a label refiner both replace '
                                 'pred_sem_seg: configure only one')

    # ------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return self.module.num_classes

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        """Accept checkpoints of the bare BAS/CAM model (keys without the
        ``module.`` prefix)."""
        mod = prefix + 'module.'
        if not any(k.startswith(mod) for k in state_dict):
            bare = [
                k for k in list(state_dict)
                if k.startswith(prefix) and not k.startswith(
                    (prefix + 'cam_module.', prefix + 'refiner.'))
            ]
            for k in bare:
                state_dict[mod + k[len(prefix):]] = state_dict.pop(k)
        for name in ('cam_module', 'refiner'):
            aux = getattr(self, name)
            sub = f'{prefix}{name}.'
            if aux is not None and not any(
                    k.startswith(sub) for k in state_dict):
                # their weights come from their own checkpoints (loaded at
                # build time), not from the main one
                for k, v in aux.state_dict().items():
                    state_dict[sub + k] = v
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
        return self.recipe.predict(
            self.module,
            inputs,
            data_samples,
            self.num_classes,
            cam_model=self.cam_module,
            refine=self._label_refine(),
            refine_maps=self.refiner if self.refiner is not None
            and self.refiner.kind == 'maps' else None)

    def _label_refine(self):
        if self.crf is not None:
            return self._refine
        if self.refiner is not None and self.refiner.kind == 'labels':
            return self.refiner
        return None

    def _refine(self, seg_logits: Tensor, classes: Tensor,
                data_sample: SegDataSample) -> Tensor:
        """CRF over [bg, image classes]; returns (1, H, W) long labels."""
        fn, mode, kwargs = self.crf
        img = sample_image(data_sample, tuple(seg_logits.shape[-2:]))
        keep = torch.cat([classes.new_zeros(1), classes + 1])
        sub = seg_logits[keep].cpu().numpy()
        if mode == 'labels':
            q = fn(img, labels=sub.argmax(0), n_labels=len(keep), **kwargs)
        else:
            q = fn(img, probs=sub, **kwargs)
        lab = torch.from_numpy(np.asarray(q).argmax(0)).to(keep.device)
        return keep[lab][None]
