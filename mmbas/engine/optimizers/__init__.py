# Copyright (c) mmbas contributors. All rights reserved.
from .bas_optim_wrapper_constructor import BASOptimWrapperConstructor
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper

__all__ = ['BASOptimWrapperConstructor', 'CPUAmpOptimWrapper']
