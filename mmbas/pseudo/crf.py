# Copyright (c) mmbas contributors. All rights reserved.
"""Dense CRF refinement of seed / pseudo label maps (docs/method.md, section
4).

Backed by ``pydensecrf2`` (PyPI; installs the ``pydensecrf`` module, built
from source, works with numpy 2). It is optional: :func:`dense_crf` raises
an ImportError naming the package when it is missing. Other refiners can
be plugged in through :data:`SEED_REFINERS` (name -> callable with the
signature of :func:`dense_crf`).
"""
from typing import Callable, Dict, Optional

import numpy as np

#: name -> refiner ``fn(image_uint8 (H, W, 3) RGB, probs=None, labels=None,
#: **kwargs) -> (K, H, W) float32 probabilities``
SEED_REFINERS: Dict[str, Callable] = {}


def register_refiner(name: str) -> Callable:
    """Decorator adding a refiner to :data:`SEED_REFINERS`."""

    def _wrap(fn):
        SEED_REFINERS[name] = fn
        return fn

    return _wrap


def crf_available() -> bool:
    """Whether ``pydensecrf`` (package ``pydensecrf2``) imports."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


@register_refiner('dense_crf')
def dense_crf(image: np.ndarray,
              probs: Optional[np.ndarray] = None,
              labels: Optional[np.ndarray] = None,
              n_labels: Optional[int] = None,
              t: int = 10,
              gt_prob: float = 0.7,
              gaussian_sxy: float = 3,
              gaussian_compat: float = 3,
              bilateral_sxy: float = 50,
              bilateral_srgb: float = 5,
              bilateral_compat: float = 10) -> np.ndarray:
    """Fully connected CRF (Kraehenbuehl & Koltun) mean-field inference.

    Exactly one of ``probs`` / ``labels`` gives the unary term:
    ``probs`` (K, H, W) >= 0 (normalised over K here) -> ``-log p``;
    ``labels`` (H, W) int in [0, n_labels) -> the label gets probability
    ``gt_prob``, the others share the rest (IRN's setting for BAS's masks,
    docs/method.md section 4: t=10, gt_prob 0.7, gaussian sxy 3 compat 3,
    bilateral sxy 50 srgb 5 compat 10 — the defaults).

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        probs (np.ndarray, optional): (K, H, W) class probabilities/scores.
        labels (np.ndarray, optional): (H, W) label map.
        n_labels (int, optional): Number of labels with ``labels``
            (default max + 1).
        t (int): Mean-field iterations.
        gt_prob (float): Confidence of ``labels``.
        gaussian_sxy, gaussian_compat: Smoothness kernel.
        bilateral_sxy, bilateral_srgb, bilateral_compat: Appearance kernel.

    Returns:
        np.ndarray: (K, H, W) float32 marginals.
    """
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_labels, unary_from_softmax
    except ImportError as err:
        raise ImportError('dense_crf needs the optional package pydensecrf2:'
                          ' pip install pydensecrf2') from err
    if (probs is None) == (labels is None):
        raise ValueError('give exactly one of probs / labels')
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be (H, W, 3) uint8, got {image.shape}')
    h, w = image.shape[:2]
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float32)
        if probs.shape[1:] != (h, w):
            raise ValueError(f'probs {probs.shape} do not match image '
                             f'{image.shape}')
        k = probs.shape[0]
        probs = np.clip(probs, 1e-8, None)
        probs = probs / probs.sum(0, keepdims=True)
        unary = unary_from_softmax(probs)
    else:
        labels = np.asarray(labels)
        if labels.shape != (h, w):
            raise ValueError(f'labels {labels.shape} do not match image '
                             f'{image.shape}')
        k = int(labels.max()) + 1 if n_labels is None else int(n_labels)
        unary = unary_from_labels(
            labels.astype(np.int64), k, gt_prob=gt_prob, zero_unsure=False)
    d = dcrf.DenseCRF2D(w, h, k)
    d.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    d.addPairwiseGaussian(sxy=gaussian_sxy, compat=gaussian_compat)
    d.addPairwiseBilateral(
        sxy=bilateral_sxy,
        srgb=bilateral_srgb,
        rgbim=image,
        compat=bilateral_compat)
    q = d.inference(int(t))
    return np.asarray(q, dtype=np.float32).reshape(k, h, w)
