# Copyright (c) mmbas contributors. All rights reserved.
"""Session-wide test hooks.

The markers themselves (``cuda``, ``slow``)
are registered in setup.cfg (``[tool:pytest]``).
"""
import os

import pytest
import torch


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
