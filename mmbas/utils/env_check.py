# Copyright (c) mmbas contributors. All rights reserved.
"""Checks that the installed OpenMMLab stack can work together.

mmbas supports one tested stack (see ``requirements/runtime.txt``). Version
skew inside that stack fails late and obscurely (an ``AssertionError`` deep in
``mmseg/__init__``, a missing C++ operator in torchvision). ``check_stack``
runs at ``import mmbas`` and turns each known skew into a one-line
``ImportError`` that names the package and the command that fixes it.
"""
import importlib
import importlib.metadata as metadata
from typing import Optional

INSTALL_HINT = 'run `bash tools/install.sh` from the mmbas checkout'

# (distribution names, minimum inclusive, maximum exclusive)
MMCV_RANGE = ('2.0.0', '2.2.0')
MMENGINE_RANGE = ('0.10.0', '0.11.0')


class StackError(ImportError):
    """Raised by :func:`check_stack` when the installed stack is broken."""


def _version_tuple(version: str) -> tuple:
    out = []
    for part in version.split('+')[0].split('.')[:3]:
        digits = ''.join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def _dist_version(*names: str) -> Optional[str]:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _in_range(version: str, lo: str, hi: str) -> bool:
    return _version_tuple(lo) <= _version_tuple(version) < _version_tuple(hi)


def check_stack() -> None:
    """Raise :class:`StackError` with an actionable message if the installed
    torch/torchvision/mmcv/mmengine combination cannot work."""
    try:
        import torch
    except ImportError as e:
        raise StackError(f'mmbas needs PyTorch ({e}); {INSTALL_HINT}.') from e

    try:
        import torchvision
        import torchvision.ops  # noqa: F401  (loads the C++ operators)
        torch.ops.torchvision.nms  # noqa: B018
    except ImportError as e:
        raise StackError(
            f'torchvision is missing or does not import ({e}); mmpretrain '
            f'needs it beside torch {torch.__version__}. Install the pair '
            'together, e.g. `pip install torch==2.14.1 torchvision==0.29.1`, '
            f'or {INSTALL_HINT}.') from e
    except (RuntimeError, AttributeError) as e:
        raise StackError(
            f'torchvision {torchvision.__version__} was built for another '
            f'torch than the installed {torch.__version__} ({e}). Install a '
            'matching pair, e.g. `pip install torch==2.14.1 '
            f'torchvision==0.29.1`, or {INSTALL_HINT}.') from e

    mmcv_version = _dist_version('mmcv', 'mmcv-lite', 'mmcv-full')
    if mmcv_version is None:
        raise StackError(f'mmcv is not installed; {INSTALL_HINT} '
                         '(it installs mmcv-lite==2.1.0).')
    if not _in_range(mmcv_version, *MMCV_RANGE):
        raise StackError(
            f'mmcv {mmcv_version} is installed, but mmsegmentation 1.2.2 '
            f'needs {MMCV_RANGE[0]} <= mmcv < {MMCV_RANGE[1]}. Fix: '
            '`pip uninstall -y mmcv mmcv-lite && pip install '
            'mmcv-lite==2.1.0` (or build mmcv==2.1.0 with ops, see README).')

    mmengine_version = _dist_version('mmengine')
    if mmengine_version is None or not _in_range(mmengine_version, *
                                                 MMENGINE_RANGE):
        raise StackError(
            f'mmengine {mmengine_version} is installed; mmbas is tested with '
            f'mmengine 0.10.x. Fix: `pip install mmengine==0.10.7`.')

    for module, dist in (('mmseg', 'mmsegmentation'), ('mmpretrain',
                                                       'mmpretrain')):
        if importlib.util.find_spec(module) is None:
            raise StackError(f'{dist} is not installed; {INSTALL_HINT}.')
