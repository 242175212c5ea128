# Copyright (c) mmbas contributors. All rights reserved.
"""Seeds from class maps stored by an earlier run: save once, sweep many."""
import os.path as osp
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmbas.pseudo.random_walk import load_refined_maps
from mmbas.pseudo.seeds import DEFAULT_BG_THRESHOLD, seed_labels, seed_logits
from mmbas.pseudo.session import sample_name

SampleList = List[SegDataSample]


@MODELS.register_module()
class StoredMapsInferencer(BaseModel):
    """The label step of the seed recipe on stored class maps.

    Expensive maps (e.g. IRN random-walk refined maps) are computed once and
    stored per image as ``<maps_dir>/<image stem>.npz`` -- the score files
    of the export (``tools/export_pseudo_labels.py --save-scores``,
    ``PseudoLabelExportHook(save_scores=True)``; float16 maps of the
    image's classes + their label values). This model reads them back, so
    ``tools/test.py`` sweeps the background threshold and
    ``tools/export_pseudo_labels.py`` writes the masks at the chosen
    threshold without computing the maps again. Per sample:
    ``loc_maps`` (C, H, W) (zero for other classes), ``seg_logits`` =
    ``[bg_threshold, loc_maps]``, ``pred_sem_seg``, ``pred_classes``, as
    :class:`~mmbas.pseudo.seeds.SeedRecipe` sets them.

    It has no weights: the tools still take a checkpoint argument, and
    any checkpoint (e.g. the one the maps were made with) is accepted and
    ignored.

    Args:
        maps_dir (str): Folder of the stored ``.npz`` files.
        num_classes (int): Number of foreground classes C.
        bg_threshold (float): Background score. Defaults to
            :data:`mmbas.pseudo.seeds.DEFAULT_BG_THRESHOLD`.
        fg_threshold (float, optional): Uncertain band left as 255, see
            :func:`mmbas.pseudo.seeds.seed_labels`.
        data_preprocessor (dict, optional): Unused (the stored maps are
            already at ``ori_shape``); kept for config compatibility.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 maps_dir: str,
                 num_classes: int,
                 bg_threshold: float = DEFAULT_BG_THRESHOLD,
                 fg_threshold: Optional[float] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.maps_dir = maps_dir
        self.num_classes = int(num_classes)
        self.bg_threshold = float(bg_threshold)
        self.fg_threshold = fg_threshold

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        """No weights: every key of a checkpoint is ignored."""

    def load_maps(self, data_sample: SegDataSample) -> tuple:
        """``(loc_maps (C, H, W) float32, classes (K,) long)`` of a sample from
        its stored file; errors name the file and the fix."""
        name = sample_name(data_sample.metainfo)
        path = osp.join(self.maps_dir, f'{name}.npz')
        fix = ('export the maps first (tools/export_pseudo_labels.py '
               '--save-scores, or PseudoLabelExportHook(save_scores=True)) '
               'or fix maps_dir')
        if not osp.isfile(path):
            raise FileNotFoundError(f'stored maps {path} do not exist; {fix}')
        try:
            maps, classes = load_refined_maps(path)
        except ValueError as err:
            raise ValueError(f'{err}; or {fix}') from None
        if classes.size and (classes.min() < 0
                             or classes.max() >= self.num_classes):
            raise ValueError(f'stored maps {path}: classes '
                             f'{classes.tolist()} do not fit '
                             f'{self.num_classes} classes; {fix}')
        ori = tuple(data_sample.metainfo.get('ori_shape', maps.shape[-2:])[:2])
        if tuple(maps.shape[-2:]) != ori:
            raise ValueError(f'stored maps {path} are {maps.shape[-2:]} but '
                             f'the image is {ori}; {fix}')
        loc = torch.zeros((self.num_classes, ) + ori)
        classes = torch.from_numpy(classes)
        loc[classes] = torch.from_numpy(maps)
        return loc, classes

    def forward(self, inputs=None, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise RuntimeError('StoredMapsInferencer only predicts')
        return self.predict(data_samples)

    def test_step(self, data: Union[dict, tuple, list]) -> SampleList:
        """Seeds of ``data['data_samples']`` from their stored maps."""
        return self.predict(data['data_samples'])

    val_step = test_step

    def predict(self, data_samples: SampleList) -> SampleList:
        for ds in data_samples:
            loc_maps, classes = self.load_maps(ds)
            logits = seed_logits(loc_maps, self.bg_threshold)
            ds.set_data(
                dict(
                    pred_classes=classes,
                    loc_maps=loc_maps,
                    pred_loc_map=loc_maps.amax(0),
                    seg_logits=PixelData(data=logits),
                    pred_sem_seg=PixelData(
                        data=seed_labels(logits, self.fg_threshold))))
        return data_samples
