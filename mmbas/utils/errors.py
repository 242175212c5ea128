# Copyright (c) mmbas contributors. All rights reserved.
"""One-line errors for the command-line tools.

The tools run their work inside :func:`friendly_errors`. Mistakes a user makes
on the command line or in a config -- a missing config or dataset path, a
registry type with a typo, a broken install, a truncated image or
checkpoint -- then end with one line that names the path or key and the fix,
instead of a traceback through mmengine's builders. Set ``MMBAS_DEBUG=1`` to
get the full traceback.

Code that detects such a mistake raises :class:`BadInputError` (or a
subclass) with that line as its message.
"""
import contextlib
import difflib
import os
import re
import sys


class BadInputError(ValueError):
    """A file or setting given by the user is unusable; the message names it
    and the fix (printed as is by :func:`friendly_errors`)."""


class CorruptFileError(BadInputError):
    """A file exists but cannot be read completely (truncated or corrupt image
    or checkpoint)."""


class CheckpointMismatchError(BadInputError):
    """A checkpoint does not fit the model of the config (missing, unexpected
    or differently shaped keys)."""


#: how torch re-raises an exception of a DataLoader worker process
_WORKER_ERROR = re.compile(r'Caught \w+ in DataLoader worker process')
#: last line of a formatted traceback: ``pkg.module.ErrorName: message``
_EXCEPTION_LINE = re.compile(r'^[\w.]+: (?P<message>.*)$')

_REGISTRY_MISS = re.compile(
    r'(?P<type>[\w.]+) is not in the (?P<scope>\w+)::(?P<name>[\w ]+) '
    r'registry')


def _registry_names(scope: str, name: str) -> list:
    """Every type name visible from the registry ``scope::name``."""
    import mmseg.registry as mmseg_registry
    from mmengine.registry import Registry
    names = set()
    for value in vars(mmseg_registry).values():
        if isinstance(value, Registry) and value.name == name:
            registry = value
            while registry is not None:
                names.update(registry.module_dict)
                registry = registry.parent
            for child in value.children.values():
                names.update(child.module_dict)
    return sorted(names)


def _message(error: BaseException) -> str:
    """The text of ``error``: the original one-line message of an error re-
    raised from a DataLoader worker, ``<file>: <reason>`` of an ``OSError``
    raised by the OS (whose first argument is the errno)."""
    if isinstance(error, OSError) and error.errno is not None:
        if error.filename is not None:
            return f'{error.filename}: {error.strerror}'
        return str(error.strerror)
    message = str(error.args[0]) if error.args else str(error)
    if _WORKER_ERROR.match(message):
        # "Caught X in DataLoader worker process 0.\nOriginal Traceback
        # ...\nX: <message>": keep the original message
        last = message.rstrip().splitlines()[-1]
        named = _EXCEPTION_LINE.match(last)
        message = named['message'] if named else last
    return message


def explain(error: BaseException) -> str:
    """A one-line explanation of ``error`` with the fix where known, or an
    empty string when the error is not a known user mistake."""
    from .env_check import StackError
    message = _message(error)
    if isinstance(error, (StackError, BadInputError)):
        return message
    if isinstance(error, KeyError):
        match = _REGISTRY_MISS.search(message)
        if match:
            wanted = match['type']
            candidates = _registry_names(match['scope'], match['name'])
            close = difflib.get_close_matches(wanted, candidates, n=3)
            hint = (f'did you mean {", ".join(repr(c) for c in close)}?'
                    if close else 'check the spelling, and that the config '
                    "has custom_imports=dict(imports=['mmbas'])")
            return (f"unknown type '{wanted}' in the {match['name']} "
                    f'registry: {hint}')
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return message
    return ''


@contextlib.contextmanager
def friendly_errors(tool: str):
    """Turn known user mistakes raised inside the block into ``tool: error:

    <one line>`` on stderr and exit status 2.
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001
        line = explain(error)
        if not line or os.environ.get('MMBAS_DEBUG'):
            raise
        print(f'{tool}: error: {line}', file=sys.stderr)
        print(
            f'{tool}: (set MMBAS_DEBUG=1 for the full traceback)',
            file=sys.stderr)
        sys.exit(2)
