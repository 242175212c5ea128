# Copyright (c) mmbas contributors. All rights reserved.
"""Session-wide test hooks and fixtures.

The markers themselves (``cuda``, ``slow``) are registered in setup.cfg
(``[tool:pytest]``). ``run_tool`` is the one way tests run mmbas's tools (or a
fresh interpreter) in a subprocess; ``interrupt_writes`` simulates an export
killed mid-write.
"""
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap
from typing import Dict, List, NamedTuple, Optional

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# test-only hooks that tool configs of the tests import (stall_hook, ...)
TEST_HOOKS_DIR = osp.join(ROOT, 'tests', 'test_tools')


def pytest_collection_modifyitems(config, items):
    """Skip the ``cuda``-marked tests when no CUDA device is usable."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason='needs a CUDA device (torch.cuda.is_available() is False)')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)


@pytest.fixture
def interrupt_writes(monkeypatch):
    """``interrupt_writes(n)``: the export writer's ``n + 1``-th atomic write
    leaves half of its temp file and raises ``RuntimeError('simulated kill')``
    (an export killed while writing); ``interrupt_writes(None)`` restores the
    real writer."""
    from mmbas.pseudo import writer as writer_mod
    real_write = writer_mod.atomic_write

    def interrupt(n):
        if n is None:
            monkeypatch.setattr(writer_mod, 'atomic_write', real_write)
            return
        calls = []

        def dying_write(path, data, tmp_dir):
            if len(calls) == n:
                tmp = os.path.join(tmp_dir, f'{os.path.basename(path)}.1.tmp')
                with open(tmp, 'wb') as f:
                    f.write(data[:len(data) // 2])
                raise RuntimeError('simulated kill')
            calls.append(path)
            real_write(path, data, tmp_dir)

        monkeypatch.setattr(writer_mod, 'atomic_write', dying_write)

    return interrupt


class ToolResult(NamedTuple):
    """A finished tool run: ``result, log = run_tool(...)`` unpacks it."""
    proc: subprocess.CompletedProcess
    log: str  # stdout + stderr

    @property
    def returncode(self) -> int:
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return self.proc.stdout

    @property
    def stderr(self) -> str:
        return self.proc.stderr


class ToolRunner:
    """Runs mmbas's tools (and fresh interpreters) in subprocesses the way a
    user of this checkout does.

    The environment: ``PYTHONPATH`` starts with the checkout (and the test
    hooks folder), ``$PYTHON`` is this interpreter (the ``*.sh`` launchers run
    it), and one OpenMP/MKL thread per process unless ``env`` says otherwise
    (CI has 2 shared cores that two ranks with all threads each would
    oversubscribe, and the toy numbers some tests assert depend on the thread
    count).
    """

    def env(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """The environment of a tool run, with ``extra`` on top."""
        env = dict(
            os.environ,
            PYTHON=sys.executable,
            OMP_NUM_THREADS='1',
            MKL_NUM_THREADS='1')
        env.update(extra or {})
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (ROOT, TEST_HOOKS_DIR, env.get('PYTHONPATH')) if p)
        return env

    def __call__(self,
                 args: List[str],
                 *,
                 check: bool = False,
                 env: Optional[Dict[str, str]] = None,
                 cwd: str = ROOT,
                 timeout: float = 900) -> ToolResult:
        """Run ``args``; a first item ending in ``.py`` runs with this
        interpreter and one ending in ``.sh`` with bash (paths relative to the
        checkout work).

        With ``check`` a non-zero exit fails the test
        with the command and the head and tail of its output.
        """
        args = [str(a) for a in args]
        if args[0].endswith('.py'):
            args = [sys.executable] + args
        elif args[0].endswith('.sh'):
            args = ['bash'] + args
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            env=self.env(env))
        result = ToolResult(proc, proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            pytest.fail(
                f'exit {proc.returncode}: {" ".join(args)}\n'
                f'{self.excerpt(result.log)}',
                pytrace=False)
        return result

    def python(self, code: str, **env: str) -> ToolResult:
        """Run ``code`` (dedented) in a fresh interpreter."""
        return self([sys.executable, '-c', textwrap.dedent(code)], env=env)

    @staticmethod
    def free_port() -> str:
        """A TCP port free on 127.0.0.1 now (``PORT`` of the launchers)."""
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            return str(s.getsockname()[1])

    @staticmethod
    def excerpt(log: str, head: int = 6000, tail: int = 6000) -> str:
        """The first ``head`` and last ``tail`` characters of ``log`` (the
        first error of a multi-process run is often near the top)."""
        if len(log) <= head + tail:
            return log
        return f'{log[:head]}\n[... {len(log) - head - tail} characters ' \
               f'...]\n{log[-tail:]}'


@pytest.fixture(scope='session')
def run_tool() -> ToolRunner:
    """The one subprocess runner of the test suite (:class:`ToolRunner`)."""
    return ToolRunner()
