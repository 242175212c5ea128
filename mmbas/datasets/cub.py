# Copyright (c) mmbas contributors. All rights reserved.
"""CUB-200-2011 for weakly supervised object localization."""
import os.path as osp
from typing import List, Optional

from mmseg.registry import DATASETS

from .wsol_base import BaseWSOLDataset


@DATASETS.register_module()
class CUBDataset(BaseWSOLDataset):
    """CUB-200-2011 (WSOL): one label and one or more boxes per image.

    ``data_root`` is the ``CUB_200_2011`` folder. Two modes:

    * official files (``metadata_root=None``): ``images.txt``,
      ``image_class_labels.txt`` (1-based, turned 0-based),
      ``train_test_split.txt`` (``split='train'`` -> is_training 1,
      ``'test'`` -> 0) and ``bounding_boxes.txt`` (``id x y w h``, 0-based
      floats). Box convention: ``gt_bboxes = [x, y, x + w, y + h]``
      (float32, original image pixels), i.e. ``x1 = x0 + w`` exactly as
      BAS and wsolevaluation's CUB metadata compute it; no +1/-1 shift.
    * wsolevaluation metadata (``metadata_root='../metadata/CUB'``): the
      CUBV2 splits ``train``/``val``/``test`` from
      ``<metadata_root>/<split>/{image_ids,class_labels,image_sizes,
      localization}.txt``; boxes are taken as written (``x0,y0,x1,y1``),
      checked against ``image_sizes.txt``.

    Optional masks (``mask_dir``, e.g. ``'../segmentations'``):
    ``<mask_dir>/<class folder>/<name>.png``; the sample then has
    ``mask_paths`` and :class:`LoadWSOLAnnotations` loads ``gt_mask``.

    Class names (``metainfo['classes']``, 200 for the real set) are read
    from ``classes.txt`` (folder names such as
    ``'001.Black_footed_Albatross'``) unless ``metainfo`` gives them.

    Args:
        split (str): ``'train'`` or ``'test'`` (``'val'`` too in metadata
            mode). Defaults to ``'train'``.
        data_prefix (dict): ``img_path`` relative to ``data_root``.
            Defaults to ``dict(img_path='images')``.
        metadata_root (str, optional): wsolevaluation ``metadata/CUB``
            folder (relative to ``data_root`` or absolute).
        mask_dir (str, optional): segmentation folder; None = no masks.
        with_bbox (bool): attach ``gt_bboxes``. Defaults to True.
        **kwargs: other :class:`BaseWSOLDataset` arguments (``metainfo``,
            ``data_root``, ``backend_args``, ...).
    """
    LAYOUT_HINT = ('set data_root to the CUB_200_2011 folder '
                   '(see docs/datasets.md)')

    SPLITS = ('train', 'test')
    METADATA_SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 split: str = 'train',
                 data_prefix: dict = dict(img_path='images'),
                 metadata_root: Optional[str] = None,
                 mask_dir: Optional[str] = None,
                 with_bbox: bool = True,
                 **kwargs) -> None:
        self.mask_dir = mask_dir
        super().__init__(
            split=split,
            metadata_root=metadata_root,
            with_bbox=with_bbox,
            data_prefix=data_prefix,
            **kwargs)

    def find_classes(self) -> tuple:
        """Second field of each line of ``classes.txt``."""
        path = self.require_file(self.resolve('classes.txt'), 'class list')
        return tuple(
            line.split(maxsplit=1)[1] for line in self.read_lines(path))

    def extra_paths(self, rel: str) -> dict:
        """``mask_paths`` of the image when ``mask_dir`` is set."""
        if not self.mask_dir:
            return {}
        return dict(mask_paths=[
            osp.join(
                self.resolve(self.mask_dir),
                osp.splitext(rel)[0] + '.png')
        ])

    def image_list_file(self) -> str:
        """``images.txt`` (split by ``train_test_split.txt``) of the official
        files, else the wsolevaluation ``image_ids.txt``."""
        if self.metadata_root:
            return super().image_list_file()
        return self.resolve('images.txt')

    def load_data_list(self) -> List[dict]:
        """Read the official CUB files or the wsolevaluation metadata."""
        img_dir = self.require_dir(self.data_prefix['img_path'], 'image dir')
        if self.mask_dir:
            self.require_dir(self.resolve(self.mask_dir), 'mask dir')
        if self.metadata_root:
            return self.load_box_metadata(img_dir)
        files = {
            name: self.require_file(self.resolve(name), name)
            for name in ('images.txt', 'image_class_labels.txt',
                         'train_test_split.txt', 'bounding_boxes.txt')
        }
        tables = {}
        for name, path in files.items():
            tables[name] = {}
            for line in self.read_lines(path):
                key, rest = line.split(maxsplit=1)
                tables[name][key] = rest
        want = '1' if self.split == 'train' else '0'
        data_list = []
        needed = ('image_class_labels.txt', 'train_test_split.txt')
        if self.with_bbox:
            needed += ('bounding_boxes.txt', )
        for img_id, rel in tables['images.txt'].items():
            for name in needed:
                if img_id not in tables[name]:
                    raise ValueError(
                        f'CUBDataset: image id {img_id} ({rel}) of '
                        f'{files["images.txt"]} has no entry in {files[name]}')
            if tables['train_test_split.txt'][img_id].strip() != want:
                continue
            label = int(tables['image_class_labels.txt'][img_id]) - 1
            boxes = None
            if self.with_bbox:
                x, y, w, h = (
                    float(v)
                    for v in tables['bounding_boxes.txt'][img_id].split())
                boxes = self.check_boxes([[x, y, x + w, y + h]], img_id,
                                         files['bounding_boxes.txt'])
            data_list.append(
                self.make_data_info(
                    osp.join(img_dir, rel), img_id, [label], boxes,
                    **self.extra_paths(rel)))
        return data_list
