# Copyright (c) mmbas contributors. All rights reserved.
"""mmbas: Background Activation Suppression for WSOL and WSSS on
OpenMMLab 2.x.

Importing mmbas checks the installed stack (one actionable error if it is
broken, see :mod:`mmbas.utils.env_check`), applies the compatibility fixes in
:mod:`mmbas.utils.compat` and registers every mmbas module into
mmsegmentation's registries.
"""
from .utils import apply_compat  # checks the stack first
from .version import __version__, version_info

apply_compat()

from . import datasets, engine, evaluation, models

__all__ = ['__version__', 'version_info']
