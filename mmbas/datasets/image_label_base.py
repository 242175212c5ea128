# Copyright (c) mmbas contributors. All rights reserved.
"""Common base of the WSSS image-label datasets (VOC, COCO)."""
from typing import Optional

from .base import BaseBASDataset


class BaseImageLabelDataset(BaseBASDataset):
    """Base class of the image-level multi-label WSSS datasets (not
    registered).

    ``metainfo['classes']`` is ``background`` followed by the foreground
    classes (the label space of the semantic maps that seeds and masks are
    scored on, like mmseg's sets); ``gt_label`` index ``k`` of a sample
    means :attr:`fg_classes` ``[k]`` = ``classes[k + 1]``. Samples may carry
    a ``seg_map_path`` (``data_prefix['seg_map_path']``) for seed
    evaluation; :meth:`seg_map_dir` checks that folder.

    Empty entries of ``data_prefix`` are dropped (a config may switch the
    segmentation folder off with ``seg_map_path=None``).

    Args:
        data_prefix (dict): ``img_path`` and optionally ``seg_map_path``.
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: other :class:`mmseg.datasets.BaseSegDataset` arguments
            (``ann_file``, ``data_root``, ``metainfo``, ``pipeline``,
            ``test_mode``, ``lazy_init``, ``backend_args``, ...).
    """

    def __init__(self,
                 data_prefix: dict = dict(img_path=''),
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        data_prefix = {k: v for k, v in dict(data_prefix).items() if v}
        super().__init__(
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)

    @property
    def fg_classes(self) -> tuple:
        """The foreground class names (``gt_label`` indexes these)."""
        return tuple(self.metainfo['classes'][1:])

    def seg_map_dir(self) -> Optional[str]:
        """The segmentation folder (``data_prefix['seg_map_path']``), checked
        to exist, or None when not given."""
        seg_dir = self.data_prefix.get('seg_map_path')
        if seg_dir:
            self.require_dir(seg_dir, 'segmentation dir (seg_map_path)')
        return seg_dir
