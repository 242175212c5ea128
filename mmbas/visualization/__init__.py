# Copyright (c) mmbas contributors. All rights reserved.
from .wsol_visualizer import WSOLLocalVisualizer

__all__ = ['WSOLLocalVisualizer']
