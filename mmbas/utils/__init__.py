# Copyright (c) mmbas contributors. All rights reserved.
from .env_check import StackError, check_stack

# Check the stack before anything below imports torch, mmcv or mmengine, so a
# broken install fails with one actionable line instead of a deep traceback.
check_stack()

from .checkpoint import load_local_checkpoint, trusted_checkpoints  # noqa
from .compat import apply_compat  # noqa: E402
from .mmcv_ops import (MissingMMCVOpError, install_mmcv_ops_standin,  # noqa
                       mmcv_has_compiled_ops)
from .package_utils import (get_installed_path, is_installed,  # noqa: E402
                            package2module)

__all__ = [
    'apply_compat', 'check_stack', 'StackError', 'install_mmcv_ops_standin',
    'mmcv_has_compiled_ops', 'MissingMMCVOpError', 'trusted_checkpoints',
    'load_local_checkpoint', 'get_installed_path', 'is_installed',
    'package2module'
]
