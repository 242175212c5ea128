# Copyright (c) mmbas contributors. All rights reserved.
"""IRN random-walk refinement as the map step of the seeds."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from mmbas.pseudo.random_walk import (IRN_BETA, IRN_EXP_TIMES, IRN_POWER,
                                      IRN_RADIUS, WALK_THREADS,
                                      check_num_threads, refine_maps)
from mmbas.pseudo.seeds import sample_image


@MODELS.register_module()
class IRNWalkRefiner(BaseModule):
    """Map refiner: IRN's random walk on the seed maps (docs/method.md,
    section 4).

    Per image: the trained IRN (:class:`mmbas.models.segmentors.IRN`)
    predicts the boundary map of the original image on its stride-4 grid;
    :func:`mmbas.pseudo.random_walk.refine_maps` walks the normalised maps
    of the image's classes (raised to ``power``, boundary-derived
    affinities ** ``beta``, ``2 ** exp_times`` exact sparse steps within
    ``radius``), upsamples them to the image and divides by their global
    max. The refined maps replace ``loc_maps``; the seed config's
    ``bg_threshold`` (0.22 for BAS with IRN) makes the label map, and
    ``SeedSweepMetric`` sweeps the threshold on the refined maps. Store
    them once with ``--save-scores`` and sweep / export again with
    :class:`~mmbas.models.classifiers.StoredMapsInferencer`.

    Args:
        irn (dict | nn.Module): The IRN model config (e.g. the ``model`` of
            ``configs/irn/irn_r50_1xb32-3e_voc12aug-512x512.py``).
        checkpoint (str, optional): Its trained weights (a
            ``tools/train.py`` checkpoint of the IRN config).
        beta (float): Affinity exponent. Defaults to 10.
        exp_times (int): ``2 ** exp_times`` walk steps. Defaults to 8.
        radius (int): Neighbourhood radius on the grid. Defaults to 5.
        power (float): Exponent of the maps before the walk. Defaults to
            1.5.
        device (str, optional): Where to walk (default: the maps' device).
        num_threads (int, optional): Torch intra-op threads of the walk on
            the CPU (restored afterwards); None: torch's setting. Defaults
            to 1: the ~1 ms steps lose more to thread synchronisation than
            they gain on a shared CPU (see
            :func:`mmbas.pseudo.random_walk.random_walk`).
        init_cfg (dict, optional): Init config.
    """

    kind = 'maps'

    def __init__(self,
                 irn: Union[dict, nn.Module],
                 checkpoint: Optional[str] = None,
                 beta: float = IRN_BETA,
                 exp_times: int = IRN_EXP_TIMES,
                 radius: int = IRN_RADIUS,
                 power: float = IRN_POWER,
                 device: Optional[str] = None,
                 num_threads: Optional[int] = WALK_THREADS,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.irn = MODELS.build(irn) if isinstance(irn, dict) else irn
        if checkpoint:
            from mmbas.utils.checkpoint import (load_state_dict_strict,
                                                load_weights_only)

            # only its weights are used: read weights-only (no code of the
            # file runs), loaded strictly
            load_state_dict_strict(
                self.irn,
                load_weights_only(checkpoint),
                checkpoint,
                hint='give a tools/train.py checkpoint of the IRN config')
        self.checkpoint = checkpoint
        self.beta = float(beta)
        self.exp_times = int(exp_times)
        self.radius = int(radius)
        self.power = float(power)
        self.device = device
        try:
            self.num_threads = check_num_threads(num_threads)
        except ValueError as err:
            raise ValueError(f'IRNWalkRefiner: {err}') from None

    @torch.no_grad()
    def boundary(self, data_sample, size) -> Tensor:
        """(h, w) boundary map of the sample's original image on the stride-4
        grid of ``size`` = (H, W)."""
        image = sample_image(data_sample, size, channel_order='bgr')
        x = torch.from_numpy(image.transpose(2, 0, 1).copy())
        meta = dict(
            img_shape=tuple(size),
            ori_shape=tuple(size),
            img_path=data_sample.metainfo.get('img_path'))
        batch = self.irn.data_preprocessor(
            dict(inputs=[x], data_samples=[SegDataSample(metainfo=meta)]),
            False)
        out = self.irn.predict(batch['inputs'], batch['data_samples'])[0]
        return out.pred_boundary.data[0]

    def forward(self, loc_maps: Tensor, classes: Tensor,
                data_sample) -> Tensor:
        """(C, H, W) normalised maps, (K,) classes -> (C, H, W) refined maps
        (zero for the other classes)."""
        size = tuple(loc_maps.shape[-2:])
        edge = self.boundary(data_sample, size)
        refined = refine_maps(
            loc_maps[classes],
            edge,
            size,
            beta=self.beta,
            exp_times=self.exp_times,
            radius=self.radius,
            power=self.power,
            device=self.device or loc_maps.device,
            num_threads=self.num_threads)
        out = torch.zeros_like(loc_maps)
        out[classes] = refined.to(out)
        return out
