# Copyright (c) mmbas contributors. All rights reserved.
"""mmbas datasets (registered in ``mmseg.registry.DATASETS``) and transforms
(``mmseg.registry.TRANSFORMS``)."""
from .base import BaseBASDataset
from .coco2014_sem import COCO2014SegDataset
from .coco_cls import COCO_CLASSES, COCOClsDataset
from .cub import CUBDataset
from .ilsvrc import ILSVRCDataset
from .image_label_base import BaseImageLabelDataset
from .openimages import OpenImagesWSOLDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .voc_cls import VOCClsDataset
from .wsol_base import BaseWSOLDataset
from .wsol_metadata import WSOLMetadataError, read_wsol_metadata

__all__ = [
    'BaseBASDataset', 'BaseWSOLDataset', 'BaseImageLabelDataset',
    'VOCClsDataset', 'COCOClsDataset', 'COCO_CLASSES', 'CUBDataset',
    'ILSVRCDataset', 'OpenImagesWSOLDataset', 'read_wsol_metadata',
    'WSOLMetadataError'
] + list(_transforms_all) + ['COCO2014SegDataset']
