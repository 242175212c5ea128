# Copyright (c) mmbas contributors. All rights reserved.
"""Session-wide test hooks. The markers themselves (``cuda``, ``slow``)
are registered in setup.cfg (``[tool:pytest]``)."""
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
