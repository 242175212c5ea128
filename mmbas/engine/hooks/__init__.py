# Copyright (c) mmbas contributors. All rights reserved.
from .num_classes_check_hook import NumClassesCheckHook
from .pseudo_label_export_hook import PseudoLabelExportHook
from .wsol_visualization_hook import WSOLVisualizationHook

__all__ = [
    'NumClassesCheckHook', 'PseudoLabelExportHook', 'WSOLVisualizationHook'
]
