# Copyright (c) mmbas contributors. All rights reserved.


def pytest_configure(config):
    """Register the ``slow`` marker (real tool runs in subprocesses, minutes
    on a CPU; deselect with ``-m 'not slow'``)."""
    registered = config.getini('markers')
    if not any(line.split(':')[0].strip() == 'slow' for line in registered):
        config.addinivalue_line(
            'markers', 'slow: runs tools in subprocesses (minutes on a CPU)')
