# Copyright (c) mmbas contributors. All rights reserved.
"""Test-suite wide pytest settings."""


def pytest_configure(config):
    # ``slow``: end-to-end runs of several minutes (``-m "not slow"`` skips
    # them); registered here unless an ini file already does
    if not any(line.split(':')[0].strip() == 'slow'
               for line in config.getini('markers')):
        config.addinivalue_line(
            'markers', 'slow: end-to-end run of several minutes '
            '(deselect with -m "not slow")')
