# Copyright (c) mmbas contributors. All rights reserved.
"""A guarded stand-in for ``mmcv.ops`` when mmcv has no compiled operators.

mmbas installs ``mmcv-lite`` by default: it needs no compiler and mmbas uses
no compiled mmcv operator. mmsegmentation 1.2.2, however, imports a few names
from ``mmcv.ops`` when ``mmseg.models`` is imported (``point_sample``,
``sigmoid_focal_loss``, ...), and ``mmcv/ops/__init__.py`` loads the missing
``mmcv._ext`` extension first, so the whole of ``mmseg.models`` fails to
import.

:func:`install_mmcv_ops_standin` registers a replacement ``mmcv.ops`` module
*only* when the real one cannot be imported because ``mmcv._ext`` is missing.
With a compiled mmcv it does nothing. The replacement

* keeps ``mmcv/ops`` as its package path, so pure-Python submodules such as
  ``mmcv.ops.point_sample`` import as usual;
* serves the pure-PyTorch functions of those submodules under their usual
  names (``point_sample``, ``bilinear_grid_sample``, ``SimpleRoIAlign``);
* serves every other name as a placeholder that raises a
  :class:`MissingMMCVOpError` naming the operator and the fix when it is
  called or instantiated, so importing a module that merely *mentions* an
  operator keeps working.
"""
import importlib
import importlib.util
import os.path as osp
import sys
import types
import warnings

#: names served from pure-Python mmcv submodules: name -> submodule
PURE_PYTHON_OPS = {
    'point_sample': 'mmcv.ops.point_sample',
    'bilinear_grid_sample': 'mmcv.ops.point_sample',
    'rel_roi_point_to_rel_img_point': 'mmcv.ops.point_sample',
    'SimpleRoIAlign': 'mmcv.ops.point_sample',
}

STANDIN_ATTR = '__mmbas_standin__'


class MissingMMCVOpError(RuntimeError):
    """Raised when a compiled mmcv operator is used with mmcv-lite."""


def _missing_op(name: str) -> type:
    message = (
        f'mmcv.ops.{name} is a compiled operator, and the installed mmcv has '
        'no compiled operators (mmcv-lite). mmbas itself never needs it. If '
        'your config does, build the full mmcv: `MMBAS_MMCV=full bash '
        'tools/install.sh` (about 9 minutes on 2 CPU cores).')

    class _Missing:
        __qualname__ = __name__ = name

        def __new__(cls, *args, **kwargs):
            raise MissingMMCVOpError(message)

        def __init_subclass__(cls, **kwargs):
            raise MissingMMCVOpError(message)

    _Missing.__doc__ = message
    return _Missing


def mmcv_has_compiled_ops() -> bool:
    """Whether the installed mmcv ships its compiled ``mmcv._ext``."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except ModuleNotFoundError:
        return False


def _make_standin() -> types.ModuleType:
    import mmcv
    module = types.ModuleType('mmcv.ops', __doc__)
    module.__path__ = [osp.join(osp.dirname(mmcv.__file__), 'ops')]
    module.__package__ = 'mmcv.ops'
    setattr(module, STANDIN_ATTR, True)
    cache = {}

    def __getattr__(name: str):
        # only reached for names not bound on the module
        if name.startswith('__'):
            raise AttributeError(name)
        if name not in cache:
            cache[name] = _missing_op(name)
        return cache[name]

    module.__getattr__ = __getattr__
    module.__all__ = sorted(PURE_PYTHON_OPS)
    return module


def _bind_pure_python_ops(module: types.ModuleType) -> None:
    # Importing a submodule binds it as an attribute of its parent package
    # (``mmcv.ops.point_sample`` the module would shadow ``point_sample`` the
    # function), so import them all now and bind the functions afterwards.
    for name, sub in PURE_PYTHON_OPS.items():
        setattr(module, name, getattr(importlib.import_module(sub), name))


def install_mmcv_ops_standin() -> bool:
    """Register the ``mmcv.ops`` stand-in if mmcv lacks compiled operators.

    Returns:
        bool: True if the stand-in is (now) in place, False if the real
        ``mmcv.ops`` is used.
    """
    current = sys.modules.get('mmcv.ops')
    if current is not None:
        return bool(getattr(current, STANDIN_ATTR, False))
    if mmcv_has_compiled_ops():
        return False
    import mmcv
    module = _make_standin()
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    _bind_pure_python_ops(module)
    # mmcv-lite warns on every import of mmcv.cnn.bricks.transformer that the
    # deformable attention op is missing; the stand-in reports it on use.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return True
