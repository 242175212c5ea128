# Copyright (c) mmbas contributors. All rights reserved.
"""Checkpoint loading under torch >= 2.6 (``weights_only=True`` by default).

The trust model
---------------
* Every checkpoint is loaded with ``torch.load(..., weights_only=True)``:
  pretrained backbones named in ``init_cfg`` and anything else loaded in
  passing. Plain state dicts load fine that way, and a malicious file cannot
  run code.
* Checkpoints the *user* names -- ``load_from``, ``--resume`` (a path, or the
  latest checkpoint of the work dir) and the checkpoint given to
  ``tools/test.py`` -- are loaded with full unpickling
  (``weights_only=False``), because mmengine writes its own objects into them
  (``HistoryBuffer``, numpy scalars and arrays in ``message_hub``). A log line
  says so each time. Only name checkpoints you trust.

:func:`patch_checkpoint_loading` installs this: it replaces mmengine's local
checkpoint loader with one that honours :func:`trusted_checkpoints`, and
wraps :meth:`mmengine.runner.Runner.load_or_resume` (the single place where
the runner loads what the user named) in that context.
"""
import contextlib
import contextvars
import functools
import os.path as osp

import torch

_TRUSTED = contextvars.ContextVar('mmbas_trusted_checkpoints', default=False)


@contextlib.contextmanager
def trusted_checkpoints():
    """Within this context, local checkpoints load with full unpickling."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local-file loader with the trust model above.

    Args:
        filename (str): Path of the checkpoint file.
        map_location: Same as :func:`torch.load`.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} does not exist; check the path given to '
            '--resume / load_from / tools/test.py, or the init_cfg '
            'checkpoint of the model.')
    trusted = _TRUSTED.get()
    if trusted:
        from mmengine.logging import print_log
        print_log(
            f'Loading the user-named checkpoint {filename} with full '
            'unpickling (weights_only=False); only load checkpoints you '
            'trust.',
            logger='current')
    return torch.load(
        filename, map_location=map_location, weights_only=not trusted)


def patch_checkpoint_loading() -> None:
    """Install :func:`load_local_checkpoint` and the trusted context around
    ``Runner.load_or_resume`` (idempotent)."""
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)

    if getattr(Runner.load_or_resume, '__mmbas_patched__', False):
        return
    original = Runner.load_or_resume

    @functools.wraps(original)
    def load_or_resume(self):
        with trusted_checkpoints():
            return original(self)

    load_or_resume.__mmbas_patched__ = True
    Runner.load_or_resume = load_or_resume
