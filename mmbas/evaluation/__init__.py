"""WSOL evaluation: pure numpy/cv2 protocols and mmengine metrics."""
from . import functional, metrics  # noqa: F401
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
