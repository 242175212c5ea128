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
* Where only the weights of a training checkpoint are needed (the
  ``cam_checkpoint`` of ``SeedInferencer``), :func:`load_weights_only`
  reads them with torch's weights-only unpickler, every other object of the
  file (mmengine's, or whatever a forged file holds) replaced by an inert
  placeholder or, for ``os`` / ``sys`` globals, refused: no code of the
  file runs.

Bad files fail with one line naming them: a truncated or corrupt
checkpoint raises :class:`~mmbas.utils.errors.CorruptFileError`, a file
holding objects the weights-only load refuses a
:class:`~mmbas.utils.errors.BadInputError`, and
:func:`load_state_dict_strict` a
:class:`~mmbas.utils.errors.CheckpointMismatchError` naming the first
missing / unexpected keys.

:func:`patch_checkpoint_saving` makes the runner write checkpoints
atomically (:func:`save_checkpoint_atomic`), so that a run killed while
saving leaves no truncated ``iter_N.pth``.

:func:`patch_checkpoint_loading` installs this: it replaces mmengine's local
checkpoint loader with one that honours :func:`trusted_checkpoints`, and
wraps :meth:`mmengine.runner.Runner.load_or_resume` (the single place where
the runner loads what the user named) in that context.
"""
import contextlib
import contextvars
import functools
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

import torch

from .errors import BadInputError, CheckpointMismatchError, CorruptFileError

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
    return torch_load_checked(
        filename, map_location=map_location, weights_only=not trusted)


def _corrupt(filename: str, reason: str) -> CorruptFileError:
    return CorruptFileError(
        f'checkpoint {filename} is truncated or corrupt ({reason}); an '
        'interrupted save or copy leaves such a file: copy it again, or use '
        'an earlier checkpoint')


def _refused_object(message: str) -> str:
    """The line of torch's weights-only error that names the object."""
    for line in message.splitlines():
        if 'GLOBAL' in line or 'Trying to' in line or 'Unsupported' in line:
            return line.strip()
    return message.strip().splitlines()[0] if message.strip() else ''


def torch_load_checked(filename: str,
                       map_location=None,
                       weights_only: bool = True):
    """``torch.load`` whose failures name the file.

    Args:
        filename (str): Checkpoint file.
        map_location: Same as :func:`torch.load`.
        weights_only (bool): Same as :func:`torch.load`. Default True.

    Raises:
        CorruptFileError: the file is empty, cut short or damaged (torch's
            ``PytorchStreamReader failed reading zip archive`` and the
            like).
        BadInputError: ``weights_only`` and the file holds objects the
            weights-only unpickler refuses (the object is named).
    """
    size = os.path.getsize(filename)
    if size == 0:
        raise _corrupt(filename, 'the file is empty')
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK') and not zipfile.is_zipfile(filename):
        # torch.save writes a zip whose directory comes last: cut short
        raise _corrupt(
            filename, f'{size} bytes, the end of the zip '
            'archive is missing')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=weights_only)
    except pickle.UnpicklingError as err:
        message = str(err)
        refused = _refused_object(message)
        if weights_only and re.search(r'GLOBAL|reduce', refused):
            raise BadInputError(
                f'checkpoint {filename} holds Python objects that a '
                f'weights only load refuses ({refused}); it was not loaded '
                '(only load checkpoints you trust)') from None
        if weights_only and 'Weights only load failed' in message:
            raise _corrupt(filename, refused) from None
        raise _corrupt(filename, message.splitlines()[0]) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile) as err:
        message = str(err).strip()
        if isinstance(err, RuntimeError) and not re.search(
                r'PytorchStreamReader|zip archive|corrupt', message):
            raise
        raise _corrupt(
            filename,
            message.splitlines()[0]
            if message else 'the file ends too early') from None


class _Placeholder:
    """Stands for any object of a checkpoint that is not a tensor or a
    container of tensors (see :func:`load_weights_only`); its construction does
    nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass


def _state_dict_of(checkpoint) -> dict:
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), dict):
                return checkpoint[key]
    return checkpoint


def load_weights_only(filename: str, map_location='cpu') -> Dict:
    """The state dict of a checkpoint, read without running any of its code.

    torch's weights-only unpickler reads the file; every global it would
    refuse (mmengine's ``HistoryBuffer``, numpy types, ``getattr`` in
    ``message_hub`` -- or ``shutil.rmtree`` / ``builtins.exec`` in a forged
    file) is mapped to an inert placeholder instead of being imported and
    called. Globals of the modules torch blocks outright (``os``, ``sys``,
    ``posix``, ``nt``) still make the load fail, with the global named. The
    tensors of ``state_dict`` load normally; a placeholder inside it is an
    error.

    Args:
        filename (str): Checkpoint (a training checkpoint or a bare state
            dict).
        map_location: Same as :func:`torch.load`. Default ``'cpu'``.

    Returns:
        dict: ``checkpoint['state_dict']`` (or ``['model']``, or the whole
        file when it is a bare state dict).

    Raises:
        FileNotFoundError: the file does not exist.
        CorruptFileError: the file is truncated or damaged.
        BadInputError: the state dict holds something else than tensors.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # noqa: BLE001 (torch_load_checked explains)
        unsafe = []
    stand_ins = [(_Placeholder, name) for name in unsafe]
    with torch.serialization.safe_globals(stand_ins):
        checkpoint = torch_load_checked(
            filename, map_location=map_location, weights_only=True)
    state_dict = _state_dict_of(checkpoint)
    bad = [
        k for k, v in (
            state_dict.items() if isinstance(state_dict, dict) else [])
        if not isinstance(v, torch.Tensor)
    ]
    if not isinstance(state_dict, dict) or bad:
        raise BadInputError(
            f'checkpoint {filename} has no state dict of tensors' +
            (f' (not a tensor: {", ".join(bad[:3])})' if bad else '') +
            '; give a checkpoint written by tools/train.py or '
            'torch.save(model.state_dict())')
    return state_dict


_SIZE_MISMATCH = re.compile(
    r'size mismatch for (?P<key>\S+): copying a param with shape '
    r'torch.Size\((?P<ckpt>[^)]*)\) from checkpoint, the shape in current '
    r'model is torch.Size\((?P<model>[^)]*)\)')


def _shape_mismatch(error: str) -> str:
    """``key (checkpoint shape) vs model (model shape)`` from torch's size
    mismatch message."""
    match = _SIZE_MISMATCH.match(error)
    if match is None:
        return error.replace('size mismatch for ', '')
    return (f'{match["key"]} ({match["ckpt"].strip("[]")}) vs model '
            f'({match["model"].strip("[]")})')


def _few(keys: Sequence[str], n: int = 3) -> str:
    more = f' (+{len(keys) - n} more)' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def load_state_dict_strict(
        module: torch.nn.Module,
        state_dict: Dict,
        filename: str,
        revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), ),
        hint: str = 'give the checkpoint trained with this config') -> None:
    """Load ``state_dict`` into ``module``; a key the module lacks or does not
    get, or a shape that differs, raises.

    Keys go through ``revise_keys`` first (as mmengine's loader: the
    ``module.`` of a DDP checkpoint is dropped) and then through torch's
    ``load_state_dict``, so modules that remap keys on loading (e.g.
    ``SeedInferencer``, which accepts the bare BAS checkpoint) are checked
    after their remapping. Like torch's strict load, the matching tensors
    are copied before the error is raised.

    Args:
        module (nn.Module): The model (unwrapped).
        state_dict (dict): The checkpoint's state dict (not modified).
        filename (str): The checkpoint's file, for the message.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` regexes
            applied to every key. Default: strip a leading ``module.``.
        hint (str): The fix appended to the message.

    Raises:
        CheckpointMismatchError: naming ``filename`` and the first three
            missing keys, unexpected keys and shape mismatches.
    """
    metadata = getattr(state_dict, '_metadata', None)
    revised = OrderedDict(state_dict)
    for pattern, repl in revise_keys:
        revised = OrderedDict(
            (re.sub(pattern, repl, k), v) for k, v in revised.items())
    if metadata is not None:
        revised._metadata = metadata
    missing, unexpected, errors = [], [], []

    from mmengine.model import BaseTTAModel, is_model_wrapper

    def load(mod: torch.nn.Module, prefix: str = '') -> None:
        # torch's load_state_dict walk, collecting all three lists; like
        # mmengine's, it looks through DDP and TTA wrappers
        if is_model_wrapper(mod) or isinstance(mod, BaseTTAModel):
            mod = mod.module
        local = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(revised, prefix, local, True, missing,
                                  unexpected, errors)
        for name, child in mod._modules.items():
            if child is not None:
                load(child, prefix + name + '.')

    load(module)
    shapes = [
        _shape_mismatch(e) for e in errors if e.startswith('size mismatch')
    ]
    if len(shapes) < len(errors):
        raise RuntimeError(f'loading {filename}: ' + '; '.join(errors))
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing keys: {_few(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected keys: {_few(unexpected)}')
    if shapes:
        parts.append(f'{len(shapes)} shape mismatches: {_few(shapes, 1)}')
    raise CheckpointMismatchError(
        f'checkpoint {filename} does not match the model of the config '
        f'({"; ".join(parts)}); {hint}')


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


def save_checkpoint_atomic(checkpoint: dict,
                           filename: str,
                           file_client_args=None,
                           backend_args=None) -> None:
    """mmengine's ``save_checkpoint``, atomic for local files: written as
    ``<filename>.tmp-<pid>`` in the same folder, then renamed with
    ``os.replace``; a failed save removes the temporary file. Other
    backends (``s3://``, ``pavi://``, custom backend arguments) are passed
    through unchanged.

    Args:
        checkpoint (dict): What the runner saves.
        filename (str): Target file.
        file_client_args, backend_args: Same as mmengine's.
    """
    from mmengine.runner.checkpoint import save_checkpoint
    if '://' in filename or file_client_args or backend_args:
        save_checkpoint(
            checkpoint,
            filename,
            file_client_args=file_client_args,
            backend_args=backend_args)
        return
    tmp = f'{filename}.tmp-{os.getpid()}'
    try:
        save_checkpoint(checkpoint, tmp)
        os.replace(tmp, filename)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def patch_checkpoint_saving() -> None:
    """Make ``Runner.save_checkpoint`` use :func:`save_checkpoint_atomic`
    (idempotent)."""
    import mmengine.runner.runner as runner_module
    runner_module.save_checkpoint = save_checkpoint_atomic
