# Copyright (c) mmbas contributors. All rights reserved.
from .class_sampler_state_hook import ClassSamplerStateHook
from .num_classes_check_hook import NumClassesCheckHook
from .pseudo_label_export_hook import PseudoLabelExportHook
from .strict_checkpoint_hook import StrictCheckpointHook
from .wsol_visualization_hook import WSOLVisualizationHook

__all__ = [
    'ClassSamplerStateHook', 'NumClassesCheckHook', 'PseudoLabelExportHook',
    'StrictCheckpointHook', 'WSOLVisualizationHook'
]
