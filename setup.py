# Copyright (c) mmbas contributors. All rights reserved.
"""Install mmbas: ``pip install -e .`` (``bash tools/install.sh`` does it
all, torch and mmcv included), or ``pip install .`` for a regular install
that ships ``configs/`` and ``tools/`` inside the package (``mmbas/.mim``)."""
import os
import os.path as osp
import re
import shutil
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

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
    return [
        r.replace('mmcv-lite', 'mmcv', 1) if r.startswith('mmcv-lite') else r
        for r in reqs
    ]


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


#: checkout entries shipped in ``mmbas/.mim``, where ``mim train mmbas``,
#: ``mim test mmbas`` and :mod:`mmbas.apis` look for them in an installed
#: (non-editable) mmbas
MIM_ENTRIES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """``build_py`` that also fills ``mmbas/.mim`` (OpenMMLab's layout for the
    files of a package that live outside it).

    A regular build (``pip install .``, ``python -m build``) copies
    :data:`MIM_ENTRIES` from the checkout into the built package, so the
    wheel carries them. An editable install (``pip install -e .``) links
    ``mmbas/.mim/<entry>`` to the checkout's entries instead (symlinks; a
    copy where the system cannot link), so edits show at once.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            self._fill_mim(osp.join(HERE, 'mmbas', '.mim'), link=True)
        else:
            self._fill_mim(
                osp.join(self.build_lib, 'mmbas', '.mim'), link=False)

    @staticmethod
    def _fill_mim(mim_dir: str, link: bool) -> None:
        os.makedirs(mim_dir, exist_ok=True)
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
        for entry in MIM_ENTRIES:
            src = osp.join(HERE, entry)
            if not osp.exists(src):
                raise FileNotFoundError(
                    f'{src} is missing: mmbas/.mim ships {entry} from the '
                    'checkout; build from a full mmbas checkout or sdist')
            dst = osp.join(mim_dir, entry)
            if osp.islink(dst) or osp.isfile(dst):
                os.remove(dst)
            elif osp.isdir(dst):
                shutil.rmtree(dst)
            if link:
                try:
                    os.symlink(osp.relpath(src, mim_dir), dst)
                    continue
                except OSError:  # e.g. Windows without the privilege
                    pass
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=ignore)
            else:
                shutil.copyfile(src, dst)


ext_modules = [
    # union-find threshold sweeps of the official WSOL box protocol
    Extension(
        'mmbas.evaluation.functional._box_sweep',
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
        'tests':
        parse_requirements('requirements/tests.txt'),
        'optional':
        parse_requirements('requirements/optional.txt'),
        'all':
        parse_requirements('requirements/tests.txt') +
        parse_requirements('requirements/optional.txt'),
    },
    ext_modules=ext_modules,
    cmdclass={
        'build_ext': OptionalBuildExt,
        'build_py': BuildPyWithMim
    },
    zip_safe=False)
