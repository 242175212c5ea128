# Copyright (c) mmbas contributors. All rights reserved.


def pytest_configure(config):
    """Register the markers of the test suite."""
    markers = config.getini('markers')
    if not any(m.split(':')[0].strip() == 'slow' for m in markers):
        config.addinivalue_line(
            'markers', 'slow: runs a tool end to end in a subprocess '
            '(deselect with -m "not slow")')
