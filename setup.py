# Copyright (c) mmbas contributors. All rights reserved.
"""Install mmbas: ``pip install -e .`` (``bash tools/install.sh`` does it
all, torch and mmcv included)."""
import os.path as osp
import re

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = osp.dirname(osp.abspath(__file__))


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    with open(osp.join(HERE, 'mmbas', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Requirement lines of ``fname``, comments and ``-r`` includes
    resolved."""
    requirements = []
    with open(osp.join(HERE, fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                requirements += parse_requirements(line[3:].strip())
            else:
                requirements.append(line)
    return requirements


def runtime_requirements() -> list:
    """Runtime requirements; a compiled mmcv, when installed, stands in for
    mmcv-lite (both provide the ``mmcv`` module)."""
    reqs = parse_requirements('requirements/runtime.txt')
    try:
        from importlib.metadata import version
        version('mmcv')
    except Exception:  # noqa: BLE001 - no compiled mmcv: keep mmcv-lite
        return reqs
    return [r.replace('mmcv-lite', 'mmcv', 1) if r.startswith('mmcv-lite')
            else r for r in reqs]


class OptionalBuildExt(build_ext):
    """Build the C extensions where a compiler is available; a failed build
    only warns: ``mmbas.evaluation.functional`` then falls back to its pure
    Python path (same numbers, slower)."""

    def build_extension(self, ext):
        # no fused multiply-add: the C IoUs must round like numpy's
        if self.compiler.compiler_type == 'msvc':
            ext.extra_compile_args = ['/O2', '/fp:precise']
        else:
            ext.extra_compile_args = ['-O3', '-ffp-contract=off']
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            self.warn(f'building {ext.name} failed ({exc}); the WSOL box '
                      'metric falls back to cv2.findContours (slower).')

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - e.g. no compiler at all
            self.warn(f'building the C extensions failed ({exc}); the WSOL '
                      'box metric falls back to cv2.findContours (slower).')


ext_modules = [
    # union-find threshold sweeps of the official WSOL box protocol
    Extension('mmbas.evaluation.functional._box_sweep',
              sources=['mmbas/evaluation/functional/_box_sweep.c']),
]

setup(
    name='mmbas',
    version=get_version(),
    description='Background Activation Suppression (BAS) for weakly '
    'supervised localization and segmentation on OpenMMLab 2.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=runtime_requirements(),
    extras_require={
        'tests': parse_requirements('requirements/tests.txt'),
        'optional': parse_requirements('requirements/optional.txt'),
        'all': parse_requirements('requirements/tests.txt') +
        parse_requirements('requirements/optional.txt'),
    },
    ext_modules=ext_modules,
    cmdclass={'build_ext': OptionalBuildExt},
    zip_safe=False)
