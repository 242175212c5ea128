# Copyright (c) mmbas contributors. All rights reserved.
"""Version of mmbas."""

__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Turn ``'0.1.0'`` or ``'0.1.0rc1'`` into ``(0, 1, 0)`` / ``(0, 1, 0,
    'rc1')``."""
    parts = []
    for x in version_str.split('.'):
        if x.isdigit():
            parts.append(int(x))
        else:
            digits = ''.join(c for c in x if c.isdigit())
            rest = x[len(digits):]
            parts.extend([int(digits), rest] if digits else [rest])
    return tuple(parts)


version_info = parse_version_info(__version__)
