# Copyright (c) mmbas contributors. All rights reserved.
"""Single-image WSOL inference: ``init_model`` + ``localize``."""
from typing import Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a model from a config and load a checkpoint (like mmseg's
    ``init_model``).

    Args:
        config (str | Config): Config file path or object.
        checkpoint (str, optional): Checkpoint path (a checkpoint named by
            the user, loaded with full unpickling inside
            :func:`mmbas.utils.trusted_checkpoints`). None: random/init_cfg
            weights; pretrained ``init_cfg`` of the backbone is dropped.
        device (str): Device. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model in eval mode, with ``model.cfg`` set and
        ``dataset_meta`` from the checkpoint if it has one.
    """
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS

    import mmbas  # noqa: F401  (compat fixes + registries)
    from mmbas.utils import trusted_checkpoints
    if isinstance(config, str):
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError('config must be a filename or Config object, '
                        f'got {type(config)}')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    config.model.pop('train_cfg', None)
    if checkpoint is not None:
        # the checkpoint holds every weight: no pretrained download
        backbone = config.model.get('module', config.model).get('backbone')
        if backbone is not None:
            backbone['init_cfg'] = None
    init_default_scope(config.get('default_scope', 'mmseg'))
    model = MODELS.build(config.model)
    if checkpoint is not None:
        with trusted_checkpoints():
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _test_pipeline(cfg: Config) -> list:
    """The test pipeline without annotation loading (a single image has no
    GT)."""
    return [
        dict(t) for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] not in ('LoadWSOLAnnotations', 'LoadAnnotations')
    ]


def localize(model: torch.nn.Module, image: Union[str, np.ndarray]) -> dict:
    """Localise the object of one image with the model's test pipeline.

    Args:
        model (nn.Module): From :func:`init_model` (needs ``model.cfg``).
        image (str | np.ndarray): Image path or BGR uint8 (H, W, 3) array.

    Returns:
        dict: ``map`` (H, W) float32 localisation map (``pred_loc_map``,
        min-max normalised) brought back to the image's resolution (the
        test crop is mapped back into the resized image frame and resized
        bilinearly to the original size; outside the crop 0); ``box``
        (4,) float32 xyxy in image pixels: the paper-protocol box (largest
        connected component at the configured ``box_threshold`` of the
        config, default 0.1) computed on the crop map and mapped back;
        ``scores`` (C,) float32 ``pred_score``; ``label`` int argmax.
    """
    import cv2
    from mmseg.registry import TRANSFORMS

    from mmbas.evaluation.functional import paper_protocol_box
    from mmbas.models.classifiers.ten_crop import center_offset
    cfg = model.cfg
    steps = _test_pipeline(cfg)
    if isinstance(image, np.ndarray):
        steps[0] = dict(type='LoadImageFromNDArray')
        data = dict(img=image)
    else:
        data = dict(img_path=image)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    pipeline = Compose([TRANSFORMS.build(t) for t in steps])
    data = pipeline(data)
    batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
    with torch.no_grad():
        sample = model.test_step(batch)[0]
    loc = sample.pred_loc_map.detach().float().cpu().numpy()
    scores = sample.pred_score.detach().float().cpu().numpy()
    meta = sample.metainfo
    ori_h, ori_w = meta['ori_shape'][:2]
    # crop frame -> resized frame (centre crop, mmcv offsets) -> original
    rh, rw = _resized_shape(meta, loc.shape)
    crop = meta.get('crop_bbox')
    if crop is not None:
        x0, y0 = (int(v) for v in np.asarray(crop).reshape(-1)[:2])
    else:
        x0 = center_offset(rw, loc.shape[1])
        y0 = center_offset(rh, loc.shape[0])
    full = np.zeros((rh, rw), np.float32)
    full[y0:y0 + loc.shape[0], x0:x0 + loc.shape[1]] = loc
    sx, sy = ori_w / rw, ori_h / rh
    full = cv2.resize(full, (ori_w, ori_h), interpolation=cv2.INTER_LINEAR)
    thr = float(cfg.get('box_threshold', 0.1))
    box = paper_protocol_box(loc, thr)
    if box is None:
        box = np.zeros(4)
    else:
        # inclusive pixel box in the crop -> exclusive-edge box in the image
        box = np.array([(box[0] + x0) * sx, (box[1] + y0) * sy,
                        (box[2] + 1 + x0) * sx, (box[3] + 1 + y0) * sy])
    return dict(
        map=full,
        box=box.astype(np.float32),
        scores=scores.astype(np.float32),
        label=int(scores.argmax()))


def _resized_shape(meta: dict, crop_shape) -> tuple:
    """(H, W) of the image before the crop, from ``scale_factor``."""
    ori_h, ori_w = meta['ori_shape'][:2]
    scale = meta.get('scale_factor')
    if scale is None:  # no resize
        return ori_h, ori_w
    sw, sh = scale[:2]
    return int(round(ori_h * sh)), int(round(ori_w * sw))
