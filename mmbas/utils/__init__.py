# Copyright (c) mmbas contributors. All rights reserved.
from .env_check import StackError, check_stack

# Check the stack before anything below imports torch, mmcv or mmengine, so a
# broken install fails with one actionable line instead of a deep traceback.
check_stack()

from .checkpoint import (load_local_checkpoint, load_state_dict_strict,
                         load_weights_only, trusted_checkpoints)
from .compat import apply_compat
from .errors import BadInputError, CheckpointMismatchError, CorruptFileError
from .image_io import check_image_file, imread_strict
from .mmcv_ops import (MissingMMCVOpError, install_mmcv_ops_standin,
                       mmcv_has_compiled_ops)
from .package_utils import get_installed_path, is_installed, package2module

__all__ = [
    'apply_compat', 'check_stack', 'StackError', 'install_mmcv_ops_standin',
    'mmcv_has_compiled_ops', 'MissingMMCVOpError', 'trusted_checkpoints',
    'load_local_checkpoint', 'load_state_dict_strict', 'load_weights_only',
    'BadInputError', 'CorruptFileError', 'CheckpointMismatchError',
    'check_image_file', 'imread_strict', 'get_installed_path', 'is_installed',
    'package2module'
]
