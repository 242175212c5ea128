# Copyright (c) mmbas contributors. All rights reserved.
"""Draw WSOL overlays during validation / testing (``--show-dir``)."""
import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmengine.visualization import Visualizer
from mmseg.registry import HOOKS

from mmbas.visualization import WSOLLocalVisualizer


def paper_threshold_of(evaluator) -> Optional[float]:
    """The fixed threshold of the first ``WSOLPaperMetric`` of an mmengine
    ``Evaluator`` (its ``fixed_threshold``, or its only threshold), else
    None."""
    for metric in getattr(evaluator, 'metrics', []) or []:
        if type(metric).__name__ != 'WSOLPaperMetric':
            continue
        if metric.fixed_threshold is not None:
            return float(metric.fixed_threshold)
        if len(metric.thresholds) == 1:
            return float(metric.thresholds[0])
    return None


def input_image_rgb(inputs: torch.Tensor, data_sample) -> np.ndarray:
    """The network input of one sample as an (H, W, 3) RGB uint8 image in the
    frame of ``pred_loc_map``.

    ``inputs`` is the packed (3, H, W) BGR uint8 tensor of the data batch
    (before the data preprocessor), i.e. the test crop. If the prediction
    frame differs (a wrapper that crops inside the model, e.g.
    :class:`TenCropWSOLModel`, records ``crop_bbox`` in the metainfo), the
    image is cropped with ``crop_bbox``, else resized to the map size.
    """
    img = inputs.detach().cpu()
    if img.dtype != torch.uint8:
        img = img.float().clamp(0, 255).to(torch.uint8)
    img = img.numpy().transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = np.ascontiguousarray(img[..., 2::-1])  # BGR -> RGB
    loc = data_sample.get('pred_loc_map')
    if loc is None:
        return img
    h, w = tuple(loc.shape[-2:])
    if img.shape[:2] == (h, w):
        return img
    crop = data_sample.metainfo.get('crop_bbox')
    if crop is not None:
        x0, y0, x1, y1 = (int(v) for v in np.asarray(crop).reshape(-1)[:4])
        cropped = img[y0:y1, x0:x1]
        if cropped.shape[:2] == (h, w):
            return np.ascontiguousarray(cropped)
    import cv2
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


@HOOKS.register_module()
class WSOLVisualizationHook(Hook):
    """Save / show WSOL overlays of validation and test predictions.

    Counterpart of mmseg's ``SegVisualizationHook`` for WSOL: every
    ``interval`` iterations, each sample's input crop (taken from the data
    batch, the frame of ``pred_loc_map`` and ``gt_bboxes``) is drawn by the
    runner's :class:`WSOLLocalVisualizer` (heatmap + green predicted box +
    red GT boxes) and stored by its backends (``tools/test.py --show-dir
    DIR`` sets ``visualizer.save_dir=DIR``: files land in
    ``DIR/vis_data/vis_image/``, one per image, named
    ``{mode}_{image file name}_{step}.png``). The predicted box uses the
    visualizer's ``box_threshold`` or, if None, the fixed threshold of the
    runner's ``WSOLPaperMetric``.

    Args:
        draw (bool): Draw at all. Defaults to False (``--show-dir`` / the
            ``enable_visualization`` helper turn it on).
        interval (int): Draw every ``interval`` iterations. Defaults to 1.
        show (bool): Display instead of storing (backends are dropped).
            Defaults to False.
        wait_time (float): Display time (s). Defaults to 0.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 show: bool = False,
                 wait_time: float = 0.) -> None:
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        if not isinstance(self._visualizer, WSOLLocalVisualizer):
            raise TypeError(
                'WSOLVisualizationHook needs visualizer=dict(type='
                "'WSOLLocalVisualizer', ...) in the config, got "
                f'{type(self._visualizer).__name__}; merge '
                '_base_.wsol_visualizer from configs/_base_/evaluation/'
                'wsol_paper.py')
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.draw = draw
        self.interval = interval
        self.show = show
        self.wait_time = wait_time
        if show:
            self._visualizer._vis_backends = {}
            warnings.warn('show=True: the overlays are displayed, not '
                          'stored (vis_backends are dropped).')
        self._box_threshold: Optional[float] = None

    def _find_threshold(self, runner, loop_name: str) -> None:
        try:
            evaluator = getattr(runner, loop_name).evaluator
        except Exception:  # loop not built / no evaluator
            evaluator = None
        self._box_threshold = paper_threshold_of(evaluator)

    def before_val(self, runner) -> None:
        self._find_threshold(runner, 'val_loop')

    def before_test(self, runner) -> None:
        self._find_threshold(runner, 'test_loop')

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence,
                    mode: str = 'val') -> None:
        if not self.draw or mode == 'train':
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        # runner.iter would build the train loop (and its dataloader) in a
        # pure test run; the step only matters during training
        step = runner.iter if isinstance(
            getattr(runner, '_train_loop', None), BaseLoop) else 0
        inputs = data_batch['inputs']
        for i, output in enumerate(outputs):
            img = input_image_rgb(inputs[i], output)
            path = output.metainfo.get('img_path', f'{batch_idx}_{i}')
            self._visualizer.add_datasample(
                f'{mode}_{osp.basename(str(path))}',
                img,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                step=step,
                box_threshold=self._box_threshold)
