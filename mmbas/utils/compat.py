# Copyright (c) mmbas contributors. All rights reserved.
"""The compatibility fixes applied once at ``import mmbas``.

Each fix lives in its own module with the reason it exists; this module only
applies them in the right order. See ``docs/compatibility.md``.
"""
from .checkpoint import patch_checkpoint_loading, patch_checkpoint_saving
from .dist import patch_cpu_distributed
from .mmcv_ops import install_mmcv_ops_standin
from .package_utils import patch_mmengine_package_utils

_APPLIED = False


def apply_compat() -> None:
    """Apply every fix (idempotent).

    Order matters only for the ``mmcv.ops`` stand-in, which must be in place
    before anything imports ``mmseg.models``.
    """
    global _APPLIED
    if _APPLIED:
        return
    install_mmcv_ops_standin()
    patch_mmengine_package_utils()
    patch_checkpoint_loading()
    patch_checkpoint_saving()
    patch_cpu_distributed()
    _APPLIED = True
