# Copyright (c) mmbas contributors. All rights reserved.
"""Shared plumbing of the BAS and CAM models: labels, input checks, the
predict post-processing of localisation maps."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from mmbas.pseudo.seeds import (DEFAULT_BG_THRESHOLD, SeedRecipe, crop_valid,
                                gt_classes)

SampleList = List[SegDataSample]


def _img_path(data_sample) -> str:
    return str(data_sample.metainfo.get('img_path', '<unknown img_path>'))


#: head config key -> backbone attribute holding that channel count
HEAD_CHANNEL_KEYS = (('in_channels_f1', 'f1_channels'), ('in_channels_f2',
                                                         'f2_channels'))


def head_with_channels(head: dict, backbone: nn.Module) -> dict:
    """Return a copy of the head config with the F1 / F2 channel counts.

    A key of :data:`HEAD_CHANNEL_KEYS` that the config omits (or sets to
    None) is taken from the backbone attribute; an explicit value must
    equal the attribute. A backbone without the attribute leaves the
    config as it is (the head then needs the explicit value).

    Args:
        head (dict): Head config (``model.head``).
        backbone (nn.Module): The built backbone.

    Returns:
        dict: The completed head config.

    Raises:
        ValueError: An explicit channel count differs from the backbone's.
    """
    head = dict(head)
    for key, attr in HEAD_CHANNEL_KEYS:
        channels = getattr(backbone, attr, None)
        if channels is None:
            continue
        given = head.get(key)
        if given is None:
            head[key] = int(channels)
        elif int(given) != int(channels):
            raise ValueError(
                f'model.head.{key}={given} does not match the backbone: '
                f'{type(backbone).__name__}.{attr} is {channels}; drop '
                f'model.head.{key} from the config (it is read from the '
                'backbone) or fix the backbone settings')
    return head


class BaseWeaklySupervisedModel(BaseModel):
    """Base of the image-label trained localisation models.

    Subclasses implement :meth:`forward_maps`, :meth:`loss` and
    :meth:`_forward`.

    Args:
        backbone (dict): Backbone config (f1/f2 interface).
        head (dict): Head config. ``in_channels_f1`` / ``in_channels_f2``
            are read from the backbone's ``f1_channels`` / ``f2_channels``
            when omitted (see :func:`head_with_channels`).
        data_preprocessor (dict | nn.Module, optional): mmseg
            ``SegDataPreProcessor`` config.
        multi_label (bool): Multi-label data (VOC/COCO). Defaults to False.
        train_cfg (dict, optional): ``sync_label_check`` (bool, default
            False): on accelerators, check the label range on the host (one
            sync per step, error names the image) instead of the default
            device-side assert.
        test_cfg (dict, optional): Inference options:
            ``topk`` (int, WSOL, default 1): classes whose maps are averaged;
            ``gt_known`` (bool, WSOL, default False): use the GT class(es);
            ``bg_threshold`` (float, WSSS, default 0.25): background score of
            ``seg_logits``; ``score_thr`` (float, WSSS, default 0.0): classes
            used when a sample has no ``gt_label`` (S > score_thr, at least
            the top-1); ``with_loc_maps`` (bool, WSOL, default False): also
            store the raw per-class maps (C, h, w) at feature resolution.
        channels_last (bool): Convert model and inputs to channels_last.
            Defaults to False.
        min_input_size (int, optional): Smallest input side the network
            accepts (its total stride). Defaults to the backbone's
            ``min_input_size`` attribute if any; otherwise too small inputs
            are detected from the backbone's failure.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 multi_label: bool = False,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 channels_last: bool = False,
                 min_input_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head_with_channels(head, self.backbone))
        self.num_classes = self.head.num_classes
        self.variant = self.head.variant
        self.multi_label = multi_label
        self.train_cfg = dict(train_cfg or {})
        default_test = dict(
            topk=1,
            gt_known=False,
            bg_threshold=DEFAULT_BG_THRESHOLD,
            score_thr=0.0,
            with_loc_maps=False)
        default_test.update(test_cfg or {})
        self.test_cfg = default_test
        self.channels_last = channels_last
        self.min_input_size = (
            min_input_size if min_input_size is not None else getattr(
                self.backbone, 'min_input_size', None))
        self._dataset_meta = None
        if channels_last:
            self.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------
    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        """Set (and check) the dataset metainfo, e.g. from
        ``NumClassesCheckHook``."""
        if meta is not None and meta.get('classes') is not None:
            self._check_num_classes(meta['classes'], 'dataset metainfo')
        self._dataset_meta = meta

    def _check_num_classes(self, classes, where: str) -> None:
        """Check a dataset's class list (or count) against the model.

        A leading ``'background'`` entry (the VOC / COCO segmentation
        convention) is not a class of the model.
        """
        if isinstance(classes, int):
            n = classes
        else:
            classes = list(classes)
            if classes and str(classes[0]).lower() == 'background':
                classes = classes[1:]
            n = len(classes)
        if n != self.num_classes:
            raise ValueError(
                f'num_classes mismatch: the model has {self.num_classes} '
                f'classes (model.head.num_classes) but {where} has {n} '
                'foreground classes; set model.head.num_classes to match '
                'the dataset')

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

    def _prepare_inputs(self, inputs: Tensor) -> Tensor:
        if inputs.dim() != 4:
            raise ValueError(
                f'inputs must be (N, 3, H, W), got {tuple(inputs.shape)}')
        m = self.min_input_size
        if m is not None and min(inputs.shape[-2:]) < m:
            raise ValueError(
                f'input of shape {tuple(inputs.shape)} is smaller than the '
                f'network stride: the minimum input size is {m} x {m}')
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def _run_backbone(self, fn, x: Tensor, inputs: Tensor) -> Tensor:
        """Call a backbone stage, turning a too-small-input failure into a
        clear ValueError."""
        try:
            out = fn(x)
        except RuntimeError as err:
            msg = str(err).lower()
            if 'size' in msg or 'kernel' in msg:
                raise ValueError(
                    f'input of shape {tuple(inputs.shape)} is too small for '
                    f'the network (smaller than its stride; the minimum is '
                    f'the total stride of the backbone, e.g. 16 or 32 '
                    f'pixels per side): {err}') from err
            raise
        if out.shape[-1] == 0 or out.shape[-2] == 0:
            raise ValueError(
                f'input of shape {tuple(inputs.shape)} is smaller than the '
                f'network stride (features of shape {tuple(out.shape)})')
        return out

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Return (F1, F2) of the (prepared) inputs."""
        inputs = self._prepare_inputs(inputs)
        f1 = self._run_backbone(self.backbone.forward_f1, inputs, inputs)
        f2 = self._run_backbone(self.backbone.forward_f2, f1, inputs)
        return f1, f2

    # ------------------------------------------------------------------
    # labels
    def parse_labels(self, data_samples: Sequence[SegDataSample],
                     device: torch.device) -> Tuple[Tensor, Tensor, Tensor]:
        """Turn ``gt_label`` of the samples into tensors.

        Returns:
            tuple: ``first`` (N,) long, the single / first label of each
            image; ``multi_hot`` (N, C) float; ``flat`` (sum K_i,) long, all
            labels concatenated. No host synchronisation on accelerators.
        """
        if data_samples is None or len(data_samples) == 0:
            raise ValueError('training needs data_samples with gt_label')
        labels = []
        for ds in data_samples:
            classes = ds.metainfo.get('classes', None)
            if classes is not None:
                self._check_num_classes(classes,
                                        f'the metainfo of {_img_path(ds)}')
            if 'gt_label' not in ds:
                raise ValueError(f'sample {_img_path(ds)} has no gt_label')
            lab = torch.as_tensor(ds.gt_label).reshape(-1)
            if lab.numel() == 0:
                raise ValueError(
                    f'sample {_img_path(ds)} has no positive class; every '
                    'training image needs at least one image-level label')
            if not self.multi_label and lab.numel() != 1:
                raise ValueError(
                    f'single-label model got {lab.numel()} labels for '
                    f'sample {_img_path(ds)}; set multi_label=True for '
                    'multi-label data')
            labels.append(lab.to(device=device, dtype=torch.long))
        flat = torch.cat(labels)
        self._check_label_range(flat, labels, data_samples)
        rows = torch.cat(
            [lab.new_full((lab.numel(), ), i) for i, lab in enumerate(labels)])
        multi_hot = torch.zeros(len(labels), self.num_classes, device=device)
        multi_hot[rows, flat.clamp(0, self.num_classes - 1)] = 1.
        first = torch.stack([lab[0] for lab in labels])
        return first, multi_hot, flat

    def _check_label_range(self, flat: Tensor, labels: List[Tensor],
                           data_samples) -> None:
        c = self.num_classes
        if flat.device.type == 'cpu' or self.train_cfg.get(
                'sync_label_check', False):
            for lab, ds in zip(labels, data_samples):
                bad = lab[(lab < 0) | (lab >= c)]
                if bad.numel() > 0:
                    raise ValueError(
                        f'class index {bad.tolist()} of sample '
                        f'{_img_path(ds)} is out of range for num_classes='
                        f'{c} (labels must be 0-based foreground indices)')
        else:  # device-side assert, no host sync
            torch._assert_async(((flat >= 0) & (flat < c)).all())

    # ------------------------------------------------------------------
    # prediction
    def forward_maps(
            self,
            inputs: Tensor,
            with_scores: bool = True) -> Tuple[Tensor, Optional[Tensor]]:
        """Return localisation maps M (N, C, h, w) >= 0 and scores S (N, C) for
        a batch of (already preprocessed) inputs; used by predict and by the
        seed recipe.

        With ``with_scores=False`` a model may skip
        the work only S needs and return None for it.
        """
        raise NotImplementedError

    @staticmethod
    def _valid_region(map_: Tensor, meta: dict, size: Tuple[int,
                                                            int]) -> Tensor:
        """Resize (K, h, w) maps to the batch input size and crop the padding
        (:func:`mmbas.pseudo.seeds.crop_valid`)."""
        up = F.interpolate(
            map_[None], size=size, mode='bilinear', align_corners=False)[0]
        return crop_valid(up, meta)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """Predict scores and localisation maps.

        WSOL: ``pred_score`` (C,) = softmax(S) (single-label) or S
        (multi-label); ``pred_loc_map`` (H, W) = mean of M over the top-k
        classes by S (``test_cfg.topk``; the GT class(es) with
        ``test_cfg.gt_known``), min-max normalised at feature resolution,
        bilinearly resized to the input crop (img_shape). ``pred_classes``
        holds the classes used.
        WSSS: the seed recipe (:class:`mmbas.pseudo.seeds.SeedRecipe`) at
        one scale without flip, ``bg_threshold`` / ``score_thr`` from
        ``test_cfg``: ``loc_maps`` (C, H, W) at ori_shape, ``seg_logits``
        (C+1, H, W) = [bg_threshold, loc_maps], ``pred_sem_seg`` (1, H, W),
        ``pred_loc_map``, ``pred_classes`` (and ``pred_score`` = S when a
        sample has no ``gt_label``).
        """
        n = inputs.shape[0]
        size = tuple(inputs.shape[-2:])
        if data_samples is None:
            data_samples = [
                SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
                for _ in range(n)
            ]
        for ds in data_samples:
            classes = ds.metainfo.get('classes', None)
            if classes is not None:
                self._check_num_classes(classes,
                                        f'the metainfo of {_img_path(ds)}')
        if self.variant == 'wsss':
            return self.seed_recipe.predict(self, inputs, data_samples,
                                            self.num_classes)
        maps, scores = self.forward_maps(inputs)
        maps = maps.float()
        scores = scores.float()
        for i, ds in enumerate(data_samples):
            gt = gt_classes(ds, self.num_classes, maps.device)
            self._predict_wsol(maps[i], scores[i], gt, ds, size)
        return data_samples

    @property
    def seed_recipe(self) -> SeedRecipe:
        """The WSSS seed recipe of :meth:`predict`: one scale, no flip,
        ``test_cfg`` thresholds."""
        return SeedRecipe(
            scales=(1.0, ),
            flip=False,
            bg_threshold=self.test_cfg['bg_threshold'],
            score_thr=self.test_cfg['score_thr'])

    def _predict_wsol(self, maps: Tensor, score: Tensor, gt: Optional[Tensor],
                      ds: SegDataSample, size) -> None:
        cfg = self.test_cfg
        if cfg['gt_known']:
            if gt is None or gt.numel() == 0:
                raise ValueError(f'gt_known needs gt_label for sample '
                                 f'{_img_path(ds)}')
            classes = gt
        else:
            k = min(int(cfg['topk']), self.num_classes)
            classes = score.topk(k).indices
        fused = maps[classes].mean(0)
        fused = (fused - fused.min()) / (fused.max() - fused.min() + 1e-5)
        loc = self._valid_region(fused[None], ds.metainfo, size)[0]
        pred_score = score if self.multi_label else score.softmax(0)
        ds.set_data(
            dict(
                pred_score=pred_score, pred_loc_map=loc, pred_classes=classes))
        if cfg['with_loc_maps']:
            ds.set_data(dict(loc_maps=maps))
