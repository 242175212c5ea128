# Copyright (c) mmbas contributors. All rights reserved.
"""Overlays of WSOL predictions: heatmap of the localisation map, the
predicted box of the paper protocol and the ground-truth boxes."""
from typing import Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS

from ..evaluation.functional import normalize_minmax_eps, paper_protocol_box


def _to_numpy(value) -> Optional[np.ndarray]:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, 'data'):  # PixelData / InstanceData field
        return _to_numpy(value.data)
    return np.asarray(value)


@VISUALIZERS.register_module()
class WSOLLocalVisualizer(Visualizer):
    """Draw a WSOL prediction on the image it was made on.

    The drawn image is the input crop (the frame of ``pred_loc_map`` and of
    ``gt_bboxes``): the heatmap of ``pred_loc_map`` (min-max normalised,
    colormap ``colormap``) blended with weight ``alpha``, the ground-truth
    boxes (``gt_bboxes`` (N, 4) xyxy, ``gt_color``) and, when a box
    threshold is known, the predicted box (``pred_color``): bounding box of
    the largest connected component of the map at that threshold, exactly
    as :class:`WSOLPaperMetric` computes it. Boxes are drawn with
    ``cv2.rectangle`` (no antialiasing), predicted box last.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): Initial image. Defaults to None.
        vis_backends (list[dict], optional): Storage backends.
        save_dir (str, optional): Directory of the backends' files.
        box_threshold (float, optional): Paper-protocol threshold of the
            predicted box; None -> the threshold passed to
            :meth:`add_datasample` (the visualisation hook passes the one of
            the runner's ``WSOLPaperMetric``), or no predicted box.
        alpha (float): Heatmap weight in the blend. Defaults to 0.5.
        colormap (int): OpenCV colormap. Defaults to ``cv2.COLORMAP_JET``.
        gt_color (tuple[int]): RGB colour of GT boxes. Defaults to red.
        pred_color (tuple[int]): RGB colour of the predicted box. Defaults
            to green.
        line_width (int): Box line width in pixels. Defaults to 2.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[Sequence[dict]] = None,
                 save_dir: Optional[str] = None,
                 box_threshold: Optional[float] = None,
                 alpha: float = 0.5,
                 colormap: int = cv2.COLORMAP_JET,
                 gt_color: Tuple[int, int, int] = (255, 0, 0),
                 pred_color: Tuple[int, int, int] = (0, 255, 0),
                 line_width: int = 2,
                 **kwargs) -> None:
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir,
            **kwargs)
        if not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        self.box_threshold = box_threshold
        self.alpha = alpha
        self.colormap = colormap
        self.gt_color = tuple(int(c) for c in gt_color)
        self.pred_color = tuple(int(c) for c in pred_color)
        self.line_width = int(line_width)

    # ------------------------------------------------------------------
    def draw_heatmap(self, image: np.ndarray,
                     loc_map: np.ndarray) -> np.ndarray:
        """Blend the colour-mapped ``loc_map`` (H, W) into ``image`` (H, W, 3)
        RGB uint8; the map is resized to the image if needed."""
        norm = normalize_minmax_eps(loc_map)
        h, w = image.shape[:2]
        if norm.shape != (h, w):
            norm = cv2.resize(norm, (w, h), interpolation=cv2.INTER_LINEAR)
        u8 = np.clip(norm * 255, 0, 255).astype(np.uint8)
        heat = cv2.applyColorMap(u8, self.colormap)[..., ::-1]  # BGR->RGB
        out = image.astype(np.float32) * (1 - self.alpha) + \
            heat.astype(np.float32) * self.alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def draw_box_list(self, image: np.ndarray, boxes: np.ndarray,
                      color: Tuple[int, int, int]) -> np.ndarray:
        """Draw xyxy ``boxes`` (N, 4) in place (pixel-exact rectangles,
        coordinates rounded and clipped to the image)."""
        h, w = image.shape[:2]
        for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            x0, y0, x1, y1 = np.round(box).astype(int).tolist()
            x0, x1 = np.clip([x0, x1], 0, w - 1).tolist()
            y0, y1 = np.clip([y0, y1], 0, h - 1).tolist()
            cv2.rectangle(
                image, (x0, y0), (x1, y1),
                color,
                self.line_width,
                lineType=cv2.LINE_8)
        return image

    def draw_wsol(self,
                  image: np.ndarray,
                  data_sample,
                  draw_gt: bool = True,
                  draw_pred: bool = True,
                  box_threshold: Optional[float] = None) -> np.ndarray:
        """Return the overlay of one data sample on ``image`` (RGB)."""
        drawn = np.ascontiguousarray(image[..., :3]).astype(np.uint8).copy()
        thr = self.box_threshold if self.box_threshold is not None \
            else box_threshold
        loc_map = _to_numpy(data_sample.get('pred_loc_map')) \
            if data_sample is not None else None
        if draw_pred and loc_map is not None:
            loc_map = np.asarray(loc_map, dtype=np.float64).squeeze()
            drawn = np.ascontiguousarray(self.draw_heatmap(drawn, loc_map))
        if draw_gt and data_sample is not None:
            gt = _to_numpy(data_sample.get('gt_bboxes'))
            if gt is not None and gt.size:
                self.draw_box_list(drawn, gt, self.gt_color)
        if draw_pred and loc_map is not None and thr is not None:
            box = paper_protocol_box(loc_map, float(thr))
            if box is not None:
                if loc_map.shape != drawn.shape[:2]:
                    sy = drawn.shape[0] / loc_map.shape[0]
                    sx = drawn.shape[1] / loc_map.shape[1]
                    box = box * np.array([sx, sy, sx, sy])
                self.draw_box_list(drawn, box, self.pred_color)
        return drawn

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       box_threshold: Optional[float] = None) -> None:
        """Draw one sample and save it to the backends (or ``out_file``).

        Args:
            name (str): Image identifier (file name stem in the backends).
            image (np.ndarray): (H, W, 3) RGB uint8 image in the frame of
                ``pred_loc_map`` / ``gt_bboxes`` (the input crop).
            data_sample (SegDataSample, optional): With ``pred_loc_map``
                (H, W) and optionally ``gt_bboxes`` (N, 4).
            draw_gt (bool): Draw the GT boxes. Defaults to True.
            draw_pred (bool): Draw heatmap and predicted box. Defaults to
                True.
            show (bool): Display instead of saving. Defaults to False.
            wait_time (float): Display time (s). Defaults to 0.
            out_file (str, optional): Write the overlay (BGR) here instead
                of the backends.
            step (int): Global step for the backends. Defaults to 0.
            box_threshold (float, optional): Threshold of the predicted box
                when the visualizer has none of its own.
        """
        drawn = self.draw_wsol(image, data_sample, draw_gt, draw_pred,
                               box_threshold)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
