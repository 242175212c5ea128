# Copyright (c) mmbas contributors. All rights reserved.
"""Refuse a checkpoint that does not fit the model (``tools/test.py``)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from mmbas.utils.checkpoint import load_state_dict_strict


@HOOKS.register_module()
class StrictCheckpointHook(Hook):
    """Load the runner's ``load_from`` checkpoint strictly.

    mmengine's runner loads ``load_from`` with ``strict=False``: a
    checkpoint of another model (a CAM or DeepLab checkpoint for a BAS
    config) only logs a warning, and the run goes on with randomly
    initialised heads. In ``after_load_checkpoint`` -- after the file is
    read, before mmengine copies it into the model -- this hook loads the
    state dict with :func:`mmbas.utils.checkpoint.load_state_dict_strict`,
    which raises a :class:`~mmbas.utils.errors.CheckpointMismatchError`
    naming the checkpoint and the first missing / unexpected keys.

    ``tools/test.py`` adds it unless ``--non-strict`` is given (see
    :func:`mmbas.apis.enable_strict_loading`).

    Args:
        hint (str): The fix printed with the mismatch. Defaults to the
            ``tools/test.py`` one.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 hint: str = 'give the checkpoint trained with this config, '
                 'or pass --non-strict to load only the matching keys'):
        self.hint = hint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check (and load) ``checkpoint['state_dict']``."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        filename = runner.cfg.get('load_from') or '<load_from>'
        load_state_dict_strict(model, state_dict, filename, hint=self.hint)
