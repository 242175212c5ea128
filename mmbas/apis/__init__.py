# Copyright (c) mmbas contributors. All rights reserved.
from .config_utils import (build_runner, enable_amp, enable_strict_loading,
                           enable_tta, enable_visualization, load_config,
                           set_resume, shutdown_distributed)
from .inference import init_model, localize

__all__ = [
    'load_config', 'enable_amp', 'set_resume', 'enable_strict_loading',
    'enable_visualization', 'enable_tta', 'build_runner',
    'shutdown_distributed', 'init_model', 'localize'
]
