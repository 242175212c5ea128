# Copyright (c) mmbas contributors. All rights reserved.
"""``pkg_resources``-free versions of mmengine's package helpers.

mmengine 0.10.7 resolves ``mmseg::`` / ``mmpretrain::`` config prefixes with
``pkg_resources``, which setuptools >= 82 no longer ships. These functions
answer the same questions with :mod:`importlib.metadata` and
:func:`importlib.util.find_spec`, and :func:`patch_mmengine_package_utils`
puts them in every place mmengine looks them up.
"""
import importlib.metadata as metadata
import importlib.util
import os.path as osp


def _spec_path(module: str):
    spec = importlib.util.find_spec(module)
    if spec is None:
        return None
    if spec.origin is None:
        raise RuntimeError(f'{module} is a namespace package, which is '
                           'invalid for `get_installed_path`')
    return osp.dirname(spec.origin)


def package2module(package: str) -> str:
    """Name of the top-level module of the distribution ``package`` (for
    example ``mmsegmentation`` -> ``mmseg``)."""
    dist = metadata.distribution(package)
    top_level = dist.read_text('top_level.txt')
    if top_level:
        return top_level.split('\n')[0].strip()
    for path in dist.files or []:
        parts = path.parts
        if len(parts) > 1 and parts[1] == '__init__.py':
            return parts[0]
    raise ValueError(f'can not infer the module name of {package}')


def is_installed(package: str) -> bool:
    """Whether ``package`` (a distribution or module name) is installed."""
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Directory of the installed module of ``package``; same contract as
    ``mmengine.utils.get_installed_path``."""
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        path = _spec_path(package)
        if path is None:
            raise
        return path
    for module in (package, package2module(package)):
        path = _spec_path(module)
        if path is not None:
            return path
    raise ModuleNotFoundError(f'cannot locate the module of {package}')


def patch_mmengine_package_utils() -> None:
    """Replace mmengine's ``pkg_resources``-based helpers with the ones above,
    in the modules that imported them by name."""
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as pkg_module
    replacements = dict(
        is_installed=is_installed,
        get_installed_path=get_installed_path,
        package2module=package2module)
    for module in (pkg_module, utils_module, config_module):
        for name, func in replacements.items():
            if hasattr(module, name):
                setattr(module, name, func)
    try:
        import mmengine.hub.hub as hub_module
    except ImportError:  # pragma: no cover - optional mmengine part
        return
    for name, func in replacements.items():
        if hasattr(hub_module, name):
            setattr(hub_module, name, func)
