# Copyright (c) mmbas contributors. All rights reserved.
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

import mmbas  # noqa: F401
from mmbas.engine.hooks import WSOLVisualizationHook
from mmbas.evaluation.functional import paper_protocol_box
from mmbas.visualization import WSOLLocalVisualizer

RED = (255, 0, 0)
GREEN = (0, 255, 0)


def _sample():
    """64x64 map with one blob (rows/cols 40..55) and a GT box far from it (x
    4..20, y 4..24)."""
    loc = torch.zeros(64, 64)
    loc[40:56, 40:56] = 1.
    ds = SegDataSample(
        metainfo=dict(img_path='a/bird.jpg', img_shape=(64, 64)))
    ds.set_data(
        dict(pred_loc_map=loc, gt_bboxes=torch.tensor([[4., 4., 20., 24.]])))
    return ds


def _visualizer(name, **kwargs):
    return WSOLLocalVisualizer.get_instance(name, **kwargs)


def test_paper_protocol_box():
    box = paper_protocol_box(_sample().pred_loc_map.numpy(), 0.5)
    np.testing.assert_array_equal(box, [40, 40, 55, 55])
    assert paper_protocol_box(np.zeros((8, 8)), 0.5) is None


def test_draw_colours():
    vis = _visualizer('vis_colours', box_threshold=0.5, line_width=1)
    img = np.full((64, 64, 3), 128, np.uint8)
    out = vis.draw_wsol(img, _sample())
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    # GT box edges red, predicted box (largest component) edges green
    for y, x in [(4, 4), (4, 12), (24, 20), (14, 4)]:
        assert tuple(out[y, x]) == RED, (y, x, out[y, x])
    for y, x in [(40, 40), (40, 50), (55, 55), (47, 40)]:
        assert tuple(out[y, x]) == GREEN, (y, x, out[y, x])
    # heatmap blended in (inside the blob: hot colour, not the grey input)
    assert tuple(out[47, 47]) != (128, 128, 128)
    # no threshold -> no predicted box
    vis.box_threshold = None
    out = vis.draw_wsol(img, _sample())
    assert tuple(out[40, 40]) != GREEN
    out = vis.draw_wsol(img, _sample(), box_threshold=0.5)
    assert tuple(out[40, 40]) == GREEN


def test_add_datasample_out_file(tmp_path):
    vis = _visualizer('vis_file', box_threshold=0.5)
    out_file = str(tmp_path / 'o.png')
    vis.add_datasample(
        'x', np.zeros((64, 64, 3), np.uint8), _sample(), out_file=out_file)
    import mmcv
    drawn = mmcv.imread(out_file, channel_order='rgb')
    assert tuple(drawn[4, 10]) == RED and tuple(drawn[40, 47]) == GREEN


def test_hook_writes_overlays(tmp_path):
    vis = _visualizer(
        'vis_hook',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    Visualizer.get_current_instance = classmethod(lambda cls: vis)
    try:
        hook = WSOLVisualizationHook(draw=True, interval=1)
    finally:
        del Visualizer.get_current_instance
    hook._box_threshold = 0.5

    class _Runner:
        iter = 0

    # packed input: (3, H, W) uint8 BGR, like PackBASInputs
    inputs = [torch.full((3, 64, 64), 100, dtype=torch.uint8)]
    hook.after_test_iter(_Runner(), 0, dict(inputs=inputs), [_sample()])
    files = glob.glob(osp.join(str(tmp_path), '**', '*.png'), recursive=True)
    assert len(files) == 1 and 'bird.jpg' in osp.basename(files[0])
    import mmcv
    drawn = mmcv.imread(files[0], channel_order='rgb')
    assert tuple(drawn[4, 10]) == RED and tuple(drawn[40, 47]) == GREEN
    # draw=False: nothing more
    hook.draw = False
    hook.after_test_iter(_Runner(), 1, dict(inputs=inputs), [_sample()])
    assert len(
        glob.glob(osp.join(str(tmp_path), '**', '*.png'), recursive=True)) == 1


def test_hook_needs_wsol_visualizer():
    Visualizer.get_current_instance = classmethod(
        lambda cls: Visualizer.get_instance('plain_vis'))
    try:
        with pytest.raises(TypeError, match='WSOLLocalVisualizer'):
            WSOLVisualizationHook(draw=True)
    finally:
        del Visualizer.get_current_instance
