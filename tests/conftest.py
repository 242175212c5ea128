# Copyright (c) mmbas contributors. All rights reserved.


def pytest_configure(config):
    """Markers: ``cuda`` (needs a GPU, skipped without one), ``slow``."""
    config.addinivalue_line('markers', 'cuda: needs a CUDA device')
    config.addinivalue_line('markers', 'slow: takes more than a few seconds')
