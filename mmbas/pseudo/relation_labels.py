# Copyright (c) mmbas contributors. All rights reserved.
"""Inter-pixel relation labels from seeds, the training labels of IRN.

IRN (Ahn et al., CVPR 2019) learns class boundaries from the pairs of
pixels whose labels are *confident*: confident foreground where the seeds
are high, confident background where they are low, and nothing in between.
docs/method.md section 4 gives the parameters used for the published BAS masks:
foreground threshold 0.30, background threshold 0.17, each label map
smoothed with a dense CRF (t=10, unary gt_prob 0.7, gaussian sxy 3 compat
3, bilateral sxy 50 srgb 5 compat 10; :func:`mmbas.pseudo.dense_crf`).

The rule (IRN's ``step/cam_to_ir_label.py``, kept exactly):

1. ``fg`` = argmax over ``[fg_thr, maps]`` (0 = background, k = the k-th
   map), smoothed by the CRF and mapped to label values (class id + 1);
2. ``bg`` = the same with ``bg_thr`` (a lower background score, so more
   pixels are foreground);
3. the label is ``fg`` where ``fg`` is foreground (whatever ``bg`` says);
   0 where both ``fg`` and ``bg`` are background; 255 (ignore) where
   ``fg`` is background but ``bg`` is foreground.

Before the CRF, ``bg_thr < fg_thr`` makes every ``fg`` foreground pixel
foreground in ``bg`` too, so the rule reads "foreground in both -> class,
background in both -> 0, disagreement -> ignore". After the CRF the two
maps can disagree the other way (``fg`` foreground, ``bg`` background, or
two different classes); the reference then keeps ``fg``'s class, and so
does this function.
"""
from typing import Optional, Sequence

import numpy as np

from .crf import dense_crf

#: label value of the pixels whose relation is unknown
IGNORE_INDEX = 255


def _threshold_labels(maps: np.ndarray, thr: float) -> np.ndarray:
    """Index map of argmax over ``[thr, maps]``: 0 background, k the k-th map
    (1-based); ties go to the lower index (background first)."""
    bg = np.full((1, ) + maps.shape[1:], thr, dtype=maps.dtype)
    return np.concatenate([bg, maps]).argmax(0)


def _crf_labels(image: np.ndarray, labels: np.ndarray, n_labels: int,
                crf_cfg: dict) -> np.ndarray:
    """Dense-CRF smoothed index map (argmax of the marginals)."""
    q = dense_crf(image, labels=labels, n_labels=n_labels, **crf_cfg)
    return q.argmax(0)


def _check_inputs(image: np.ndarray, seed_maps: np.ndarray,
                  class_ids: Sequence[int], fg_thr: float,
                  bg_thr: float) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError('image must be an (H, W, 3) uint8 RGB array, got '
                         f'{image.dtype} {image.shape}')
    if seed_maps.ndim != 3 or seed_maps.shape[1:] != image.shape[:2]:
        raise ValueError(f'seed_maps must be (K, H, W) with (H, W) = '
                         f'{image.shape[:2]} of the image, got '
                         f'{seed_maps.shape}')
    ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if ids.size != seed_maps.shape[0]:
        raise ValueError(f'{ids.size} class ids for {seed_maps.shape[0]} '
                         'seed maps: give one id per map')
    if ids.size and (ids.min() < 0 or ids.max() + 1 >= IGNORE_INDEX):
        raise ValueError(f'class ids {ids.tolist()} must be 0-based '
                         f'foreground indices below {IGNORE_INDEX - 1}')
    if len(set(ids.tolist())) != ids.size:
        raise ValueError(f'class ids {ids.tolist()} repeat a class')
    if not 0 <= bg_thr <= fg_thr:
        raise ValueError(f'need 0 <= bg_thr <= fg_thr, got bg_thr={bg_thr}'
                         f', fg_thr={fg_thr}')
    return ids


def make_relation_labels(image: np.ndarray,
                         seed_maps: np.ndarray,
                         class_ids: Sequence[int],
                         fg_thr: float = 0.30,
                         bg_thr: float = 0.17,
                         use_crf: bool = True,
                         crf_cfg: Optional[dict] = None) -> np.ndarray:
    """Relation label map of one image (see the module docstring).

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        seed_maps (np.ndarray): (K, H, W) float seed maps of the image's
            classes, normalised to [0, 1] (e.g. the ``loc_maps`` rows of
            the GT classes of a WSSS seed prediction).
        class_ids (Sequence[int]): (K,) distinct 0-based foreground class
            index of each map; the label value of class ``c`` is ``c + 1``.
        fg_thr (float): Background score for confident foreground.
            Defaults to 0.30.
        bg_thr (float): Background score for confident background (BAS
            seeds: 0.17; IRN's CAM default is 0.05). Defaults to 0.17.
        use_crf (bool): Smooth both threshold maps with the dense CRF
            (needs ``pydensecrf2``). False compares the thresholded maps
            directly. Defaults to True.
        crf_cfg (dict, optional): Overrides of :func:`dense_crf`'s
            parameters (``t``, ``gt_prob``, ``gaussian_sxy`` ...); the
            defaults are those of docs/method.md section 4.

    Returns:
        np.ndarray: (H, W) uint8: 0 confident background, ``c + 1``
        confident foreground of class ``c``, 255 unknown (ignore).
    """
    image = np.asarray(image)
    seed_maps = np.asarray(seed_maps, dtype=np.float32)
    ids = _check_inputs(image, seed_maps, class_ids, fg_thr, bg_thr)
    # index i of the threshold maps -> label value (0 = background)
    values = np.concatenate([[0], ids + 1]).astype(np.uint8)
    if ids.size == 0:
        return np.zeros(image.shape[:2], np.uint8)
    fg = _threshold_labels(seed_maps, fg_thr)
    bg = _threshold_labels(seed_maps, bg_thr)
    if use_crf:
        cfg = dict(crf_cfg or {})
        fg = _crf_labels(image, fg, values.size, cfg)
        bg = _crf_labels(image, bg, values.size, cfg)
    fg, bg = values[fg], values[bg]
    out = fg.copy()
    out[(fg == 0) & (bg != 0)] = IGNORE_INDEX
    return out
