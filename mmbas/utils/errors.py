# Copyright (c) mmbas contributors. All rights reserved.
"""One-line errors for the command-line tools.

The tools run their work inside :func:`friendly_errors`. Mistakes a user makes
on the command line or in a config -- a missing config or dataset path, a
registry type with a typo, a broken install -- then end with one line that
names the path or key and the fix, instead of a traceback through mmengine's
builders. Set ``MMBAS_DEBUG=1`` to get the full traceback.
"""
import contextlib
import difflib
import os
import re
import sys

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


def explain(error: BaseException) -> str:
    """A one-line explanation of ``error`` with the fix where known, or an
    empty string when the error is not a known user mistake."""
    from .env_check import StackError
    message = str(error.args[0]) if error.args else str(error)
    if isinstance(error, StackError):
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
    <one line>`` on stderr and exit status 2."""
    try:
        yield
    except Exception as error:  # noqa: BLE001
        line = explain(error)
        if not line or os.environ.get('MMBAS_DEBUG'):
            raise
        print(f'{tool}: error: {line}', file=sys.stderr)
        print(f'{tool}: (set MMBAS_DEBUG=1 for the full traceback)',
              file=sys.stderr)
        sys.exit(2)
