# Copyright (c) mmbas contributors. All rights reserved.
from .wsol_visualizer import WSOLLocalVisualizer, paper_protocol_box

__all__ = ['WSOLLocalVisualizer', 'paper_protocol_box']
