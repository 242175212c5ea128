# Copyright (c) mmbas contributors. All rights reserved.
"""Reader of the ``clovaai/wsolevaluation`` metadata folders.

A metadata split folder (``metadata/<DATASET>/<split>/``) holds:

* ``image_ids.txt``: one image path per line (relative to the image root),
* ``class_labels.txt``: ``<path>,<0-based label>``,
* ``image_sizes.txt`` (optional): ``<path>,<w>,<h>``,
* ``localization.txt`` (optional): either box lines
  ``<path>,<x0>,<y0>,<x1>,<y1>`` (one line per box; CUB / ILSVRC) or mask
  lines ``<path>,<mask path>,<ignore path>`` (one line per instance mask,
  the ignore path only on the first line of an image; OpenImages).

Files are read through mmengine ``fileio`` (any storage backend).
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import mmengine.fileio as fileio


class WSOLMetadataError(ValueError):
    """Inconsistent wsolevaluation metadata (names the id and the file)."""


def _rows(path: str,
          ncols: Optional[int] = None,
          backend_args: Optional[dict] = None) -> List[List[str]]:
    rows = []
    text = fileio.get_text(path, backend_args=backend_args)
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split(',')
        if ncols is not None and len(parts) != ncols:
            raise WSOLMetadataError(
                f'{path}:{lineno}: expected {ncols} comma-separated '
                f'fields, got {len(parts)}: {line!r}')
        rows.append(parts)
    return rows


def read_wsol_metadata(meta_dir: str,
                       localization: Optional[str] = None,
                       backend_args: Optional[dict] = None) -> Dict:
    """Read one wsolevaluation split folder.

    Args:
        meta_dir (str): folder with ``image_ids.txt`` etc.
        localization (str, optional): ``'box'``, ``'mask'`` or None (do not
            read ``localization.txt``).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: ``image_ids`` (list[str]), ``labels`` ({id: int}), ``sizes``
        ({id: (w, h)}, empty if ``image_sizes.txt`` is absent), and
        ``boxes`` ({id: list of (x0, y0, x1, y1)}) or ``masks``
        ({id: (list of mask paths, ignore path)}).

    Raises:
        FileNotFoundError: a required file is missing (names it).
        WSOLMetadataError: an id of ``image_ids.txt`` lacks a label (or a
            localization entry when one is requested), naming id and file.
    """

    def need(name):
        path = osp.join(meta_dir, name)
        if not fileio.isfile(path, backend_args=backend_args):
            raise FileNotFoundError(
                f'wsolevaluation metadata file {path} does not exist; set '
                f'metadata_root to the folder holding <split>/image_ids.txt '
                f'(see docs/datasets.md)')
        return path

    ids_file = need('image_ids.txt')
    image_ids = [r[0] for r in _rows(ids_file, backend_args=backend_args)]
    labels_file = need('class_labels.txt')
    labels = {r[0]: int(r[1]) for r in _rows(labels_file, 2, backend_args)}
    for image_id in image_ids:
        if image_id not in labels:
            raise WSOLMetadataError(
                f'image id {image_id} of {ids_file} has no entry in '
                f'{labels_file}')
    out = dict(image_ids=image_ids, labels=labels, sizes={})
    sizes_file = osp.join(meta_dir, 'image_sizes.txt')
    if fileio.isfile(sizes_file, backend_args=backend_args):
        out['sizes'] = {
            r[0]: (int(r[1]), int(r[2]))
            for r in _rows(sizes_file, 3, backend_args)
        }
    if localization is None:
        return out
    loc_file = need('localization.txt')
    if localization == 'box':
        boxes: Dict[str, List[Tuple[float, ...]]] = {}
        for r in _rows(loc_file, 5, backend_args):
            boxes.setdefault(r[0], []).append(tuple(float(v) for v in r[1:]))
        table = out['boxes'] = boxes
    elif localization == 'mask':
        masks: Dict[str, Tuple[List[str], str]] = {}
        for r in _rows(loc_file, 3, backend_args):
            if r[0] in masks:
                masks[r[0]][0].append(r[1])
                if r[2] and not masks[r[0]][1]:
                    masks[r[0]] = (masks[r[0]][0], r[2])
            else:
                masks[r[0]] = ([r[1]], r[2])
        table = out['masks'] = masks
    else:
        raise ValueError(f"localization must be 'box', 'mask' or None, "
                         f'got {localization!r}')
    for image_id in image_ids:
        if image_id not in table:
            raise WSOLMetadataError(
                f'image id {image_id} of {ids_file} has no entry in '
                f'{loc_file}')
    return out
