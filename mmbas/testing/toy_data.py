# Copyright (c) mmbas contributors. All rights reserved.
"""Deterministic toy datasets written in the real on-disk layouts.

Every generator renders tiny synthetic images in which each object is a
class-*agnostic* **body** (a neutral-gray, striped ellipse whose size, aspect,
orientation, gray level and stripe pattern are drawn from the same
distribution for every class) plus a small class-*specific* **part** (a
saturated disc / square / triangle at one end of the body, ~9-19% of the
object's area).  A plain CAM classifier only needs the part to classify, so
its activation under-covers the object, while the ground truth (mask / box)
covers body + part.  Backgrounds are low-contrast noise plus a gradient,
either dark (gray ~30-80) or light (gray ~200-235), so the bodies (gray
~130-165) are always clearly separable from the background.

Ground truth is exact: image and label maps are rasterised together with
OpenCV, without anti-aliasing.  Later objects occlude earlier ones; masks and
boxes always describe the *visible* pixels.

Determinism
-----------
Every image is drawn from its own generator
``numpy.random.default_rng([seed, dataset_tag, split_code, index])`` so the
same seed gives the same content, and changing ``num_train`` does not alter
the first images.  PNG files (lossless) and all text/JSON/XML annotation
files are byte-identical for the same seed and library versions.  JPEG
images are written with a fixed quality (95); their bytes depend on the
libjpeg build bundled with OpenCV, but the decoded content is deterministic
for a given build and all annotations never depend on the encoder.

Box conventions
---------------
* Manifest ``bbox``: ``[x0, y0, x1, y1]``, 0-based, **inclusive** (x1/y1 is
  the last object pixel column/row).
* VOC / ILSVRC XML ``bndbox``: 1-based inclusive (``xmin = x0 + 1`` ...),
  like the official VOC devkit.
* COCO ``bbox``: ``[x, y, w, h]`` with ``w = x1 - x0 + 1`` (pixel extent).
* CUB ``bounding_boxes.txt``: ``x y w h`` floats, 0-based, ``w = x1-x0+1``.
* wsolevaluation ``localization.txt`` (ILSVRC): ``x0,y0,x1,y1`` 0-based
  inclusive.

Manifest format (returned by every ``make_*``)
---------------------------------------------
``{'name', 'root' (dataset root dir), 'classes' (all class names of the real
dataset, or of the toy dataset for CUB/ILSVRC/OpenImages), 'used_classes'
(indices of classes that may appear), 'splits': {split: [record, ...]}}``
where a record is ``{'id', 'img_path' (absolute), 'width', 'height',
'labels' (sorted unique class indices), 'objects': [obj, ...], ...extra
dataset specific paths...}`` and an ``obj`` is ``{'label' (0-based index into
'classes'), 'name', 'bbox', 'area' (visible pixels), 'part_area' (visible
part pixels), 'part_fraction' (part / object pixels of the unoccluded,
unclipped object), 'truncated' (clipped by the border), 'occluded'}``.
Everything is JSON serialisable (plain Python types).
"""
import json
import math
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmbas.datasets.coco_cls import COCO_CLASSES as DATASET_COCO_CLASSES
from mmbas.datasets.palettes import voc_palette

__all__ = [
    'VOC_CLASSES', 'COCO_CLASSES', 'COCO_CATEGORY_IDS', 'PART_SHAPES',
    'MAX_TOY_CLASSES', 'JPEG_QUALITY', 'voc_palette', 'part_appearance',
    'render_scene', 'make_voc', 'make_coco', 'make_cub', 'make_ilsvrc',
    'make_openimages', 'make_all', 'TOY_DATASETS'
]

JPEG_QUALITY = 95

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')

# the 80 COCO names in category-id order: the datasets' list
COCO_CLASSES = DATASET_COCO_CLASSES

_COCO_MISSING_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
COCO_CATEGORY_IDS = tuple(
    i for i in range(1, 91) if i not in _COCO_MISSING_IDS)

# (supercategory, number of consecutive categories) in COCO order.
_COCO_SUPERCATEGORIES = (('person', 1), ('vehicle', 8), ('outdoor', 5),
                         ('animal', 10), ('accessory', 5), ('sports', 10),
                         ('kitchen', 7), ('food', 10), ('furniture', 6),
                         ('electronic', 6), ('appliance', 5), ('indoor', 7))

_CUB_CLASSES = ('Black_footed_Albatross', 'Laysan_Albatross',
                'Sooty_Albatross', 'Groove_billed_Ani', 'Crested_Auklet',
                'Least_Auklet', 'Parakeet_Auklet', 'Rhinoceros_Auklet',
                'Brewer_Blackbird', 'Red_winged_Blackbird', 'Rusty_Blackbird',
                'Yellow_headed_Blackbird', 'Bobolink', 'Indigo_Bunting',
                'Lazuli_Bunting', 'Painted_Bunting', 'Cardinal',
                'Spotted_Catbird', 'Gray_Catbird', 'Yellow_breasted_Chat')

_ILSVRC_WNIDS = ('n01440764', 'n01443537', 'n01484850', 'n01491361',
                 'n01494475', 'n01496331', 'n01498041', 'n01514668',
                 'n01514859', 'n01518878')

# OpenImages class ids (Freebase mid without the '/m/' prefix) and names.
_OPENIMAGES_CLASSES = (('01yrx', 'Cat'), ('0bt9lr', 'Dog'), ('0k4j', 'Car'),
                       ('015p6', 'Bird'), ('01g317', 'Person'),
                       ('0cmf2', 'Airplane'), ('03k3r', 'Horse'), ('019jd',
                                                                   'Boat'))

# Saturated part colours (RGB); see ``part_appearance``.
_PART_COLOURS_RGB = ((230, 25, 25), (25, 190, 40), (30, 70, 235),
                     (240, 210, 20), (220, 30, 210), (20, 200, 220),
                     (250, 130, 10), (120, 30, 200))
PART_SHAPES = ('disc', 'square', 'triangle')
_PART_DIMMING = (1.0, 0.72, 0.5)
MAX_TOY_CLASSES = len(_PART_COLOURS_RGB) * len(PART_SHAPES) * len(
    _PART_DIMMING)

# Tags that decorrelate the random streams of the different datasets.
_TAGS = {'voc': 11, 'coco': 12, 'cub': 13, 'ilsvrc': 14, 'openimages': 15}
_SPLIT_CODES = {'train': 0, 'val': 1, 'test': 2, 'aug': 3}


# --------------------------------------------------------------------------
# Appearance and rendering
# --------------------------------------------------------------------------
def part_appearance(label: int) -> Tuple[Tuple[int, int, int], str]:
    """Return ``(bgr_colour, shape)`` of the class-specific part of ``label``.

    Class ``k`` uses colour ``k % 8`` and shape ``k % 3``; since 8 and 3 are
    coprime the first 24 classes are all distinct pairs.  Classes 24..71 reuse
    the pairs with dimmer colours.  At most ``MAX_TOY_CLASSES`` (72) classes.
    """
    if not 0 <= label < MAX_TOY_CLASSES:
        raise ValueError(f'label {label} outside [0, {MAX_TOY_CLASSES})')
    rgb = _PART_COLOURS_RGB[label % len(_PART_COLOURS_RGB)]
    dim = _PART_DIMMING[label // 24]
    bgr = tuple(int(round(c * dim)) for c in reversed(rgb))
    return bgr, PART_SHAPES[label % len(PART_SHAPES)]


def _background(rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    """Low-contrast, slightly tinted noise + linear gradient (float BGR)."""
    gray = rng.uniform(30, 80) if rng.random() < 0.5 else rng.uniform(200, 235)
    base = gray + rng.uniform(-10, 10, size=3)
    coarse = rng.normal(
        0, 7,
        size=(max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    coarse = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(angle) + yy * math.sin(angle)) / max(height, width)
    grad = rng.uniform(0, 16) * (ramp - ramp.mean())
    fine = rng.normal(0, 3, size=(height, width, 3))
    return base + coarse + grad[..., None] + fine


def _body_texture(rng: np.random.Generator, height: int,
                  width: int) -> np.ndarray:
    """Neutral gray stripes (class independent) as a float BGR image."""
    gray = rng.uniform(130, 165)
    tint = rng.uniform(-4, 4, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phi = rng.uniform(0, math.pi)
    period = rng.uniform(5, 9)
    stripes = 10 * np.sin(2 * math.pi *
                          (xx * math.cos(phi) + yy * math.sin(phi)) / period +
                          rng.uniform(0, 2 * math.pi))
    noise = rng.normal(0, 3, size=(height, width, 3))
    return gray + tint + stripes[..., None] + noise


def _part_polygon(shape: str, centre: Tuple[float, float], radius: float,
                  theta: float) -> np.ndarray:
    """Vertices of a square/triangle part, oriented along ``theta``."""
    n = 4 if shape == 'square' else 3
    start = theta + (math.pi / 4 if shape == 'square' else 0.0)
    angles = start + 2 * math.pi * np.arange(n) / n
    xs = centre[0] + radius * np.cos(angles)
    ys = centre[1] + radius * np.sin(angles)
    pts = np.stack([xs, ys], 1)
    return np.round(pts).astype(np.int32)


def _rasterise_object(rng: np.random.Generator, height: int, width: int,
                      label: int, scale: Tuple[float, float],
                      border_prob: float, fallback: bool):
    """Draw one body+part object on a padded canvas.

    Returns ``(obj_full, part_full, pad)``: boolean masks on a canvas padded
    by ``pad`` pixels on every side, so clipping by the image is measurable.
    """
    short = min(height, width)
    if fallback:  # deterministic placement that always fits
        a, b, theta = scale[0] * short, 0.6 * scale[0] * short, 0.0
        cx, cy = (width - 1) / 2, (height - 1) / 2
        frac = 0.14
    else:
        a = rng.uniform(*scale) * short
        b = a * rng.uniform(0.45, 0.8)
        theta = rng.uniform(0, 2 * math.pi)
        frac = rng.uniform(0.12, 0.18)
        ex = math.hypot(a * math.cos(theta), b * math.sin(theta))
        ey = math.hypot(a * math.sin(theta), b * math.cos(theta))
        if rng.random() < border_prob or 2 * ex + 2 >= width \
                or 2 * ey + 2 >= height:
            cx = rng.uniform(0.25 * ex, width - 1 - 0.25 * ex)
            cy = rng.uniform(0.25 * ey, height - 1 - 0.25 * ey)
        else:
            cx = rng.uniform(ex + 1, width - 2 - ex)
            cy = rng.uniform(ey + 1, height - 2 - ey)
    _, shape = part_appearance(label)
    part_area = frac * math.pi * a * b
    if shape == 'disc':
        radius = math.sqrt(part_area / math.pi)
    elif shape == 'square':
        radius = math.sqrt(part_area / 2)  # circumradius of the square
    else:
        radius = math.sqrt(part_area / (0.75 * math.sqrt(3)))
    radius = max(radius, 2.5)
    pad = int(math.ceil(max(a, 0.8 * a + radius))) + 3
    canvas = (height + 2 * pad, width + 2 * pad)
    body = np.zeros(canvas, np.uint8)
    part = np.zeros(canvas, np.uint8)
    centre = (int(round(cx)) + pad, int(round(cy)) + pad)
    cv2.ellipse(body, centre, (int(round(a)), int(round(b))),
                math.degrees(theta), 0, 360, 1, -1)
    pc = (cx + pad + 0.8 * a * math.cos(theta),
          cy + pad + 0.8 * a * math.sin(theta))
    if shape == 'disc':
        cv2.circle(part, (int(round(pc[0])), int(round(pc[1]))),
                   int(round(radius)), 1, -1)
    else:
        cv2.fillPoly(part, [_part_polygon(shape, pc, radius, theta)], 1)
    part = part.astype(bool)
    return body.astype(bool) | part, part, pad


def _placement_ok(obj, part, obj_full, part_full, instances, parts,
                  max_overlap):
    """Check clipping / occlusion constraints of a candidate object."""
    if part.sum() != part_full.sum():  # class evidence must be fully visible
        return False
    area = int(obj.sum())
    if area < 0.6 * obj_full.sum():
        return False
    for inst_id in range(1, int(instances.max()) + 1):
        visible = instances == inst_id
        overlap = int((obj & visible).sum())
        if overlap > max_overlap * min(area, int(visible.sum())):
            return False
        if (obj & visible & parts).any():
            return False
    return True


def _bbox(mask: np.ndarray) -> List[int]:
    """0-based inclusive ``[x0, y0, x1, y1]`` of a non-empty boolean mask."""
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    return [int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])]


def render_scene(rng: np.random.Generator,
                 height: int,
                 width: int,
                 labels: Sequence[int],
                 *,
                 scale: Tuple[float, float] = (0.14, 0.28),
                 border_prob: float = 0.2,
                 max_overlap: float = 0.2,
                 max_tries: int = 40) -> dict:
    """Render one image with body+part objects and exact label maps.

    Args:
        rng: random generator (consumed deterministically).
        height, width: image size.
        labels: class index of each object, drawn in this order (later ones
            occlude earlier ones).  Objects that cannot be placed within
            ``max_tries`` under the constraints are dropped (never the first).
        scale: range of the body semi-major axis, relative to the short side.
        border_prob: probability that an object may be clipped by the border
            (its part always stays fully inside the image).
        max_overlap: max overlap of a new object with an earlier visible
            object, relative to the smaller of the two; parts never occluded.

    Returns:
        dict with ``image`` (HxWx3 uint8 BGR), ``instances`` (HxW uint8, 0
        background, k+1 for ``objects[k]``), ``parts`` (HxW bool, visible part
        pixels) and ``objects`` (list of manifest object dicts without
        ``name``).
    """
    image = _background(rng, height, width)
    instances = np.zeros((height, width), np.uint8)
    parts = np.zeros((height, width), bool)
    placed = []
    for idx, label in enumerate(labels):
        placement = None
        for _ in range(max_tries):
            obj_full, part_full, pad = _rasterise_object(
                rng, height, width, int(label), scale, border_prob, False)
            obj = obj_full[pad:pad + height, pad:pad + width]
            part = part_full[pad:pad + height, pad:pad + width]
            if _placement_ok(obj, part, obj_full, part_full, instances, parts,
                             max_overlap):
                placement = obj_full, part_full, obj, part
                break
        if placement is None:
            if idx > 0:
                continue  # drop objects that do not fit
            obj_full, part_full, pad = _rasterise_object(
                rng, height, width, int(label), scale, border_prob, True)
            placement = (obj_full, part_full, obj_full[pad:pad + height,
                                                       pad:pad + width],
                         part_full[pad:pad + height, pad:pad + width])
        obj_full, part_full, obj, part = placement
        colour, _ = part_appearance(int(label))
        texture = _body_texture(rng, height, width)
        body = obj & ~part
        image[body] = texture[body]
        image[part] = np.asarray(colour, np.float64) + rng.normal(
            0, 4, size=(int(part.sum()), 3))
        instances[obj] = len(placed) + 1
        parts[obj] = part[obj]
        placed.append(
            dict(
                label=int(label),
                in_image_area=int(obj.sum()),
                part_fraction=round(
                    float(part_full.sum()) / float(obj_full.sum()), 6),
                truncated=bool(obj.sum() < obj_full.sum())))
    objects = []
    for inst_id, info in enumerate(placed, start=1):
        visible = instances == inst_id
        area = int(visible.sum())
        objects.append(
            dict(
                label=info['label'],
                bbox=_bbox(visible),
                area=area,
                part_area=int((visible & parts).sum()),
                part_fraction=info['part_fraction'],
                truncated=info['truncated'],
                occluded=area < info['in_image_area']))
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return dict(image=image, instances=instances, parts=parts, objects=objects)


# --------------------------------------------------------------------------
# Small helpers shared by the writers
# --------------------------------------------------------------------------
def _image_rng(seed: int, dataset: str, split: str,
               index: int) -> np.random.Generator:
    """Independent per-image stream: same seed+position -> same image."""
    return np.random.default_rng(
        [int(seed), _TAGS[dataset], _SPLIT_CODES[split],
         int(index)])


def _image_size(rng: np.random.Generator,
                size: int,
                vary: bool = True) -> Tuple[int, int]:
    """Return ``(height, width)``: long side ``size``, short side 75-100%."""
    if size < 48:
        raise ValueError(f'size must be >= 48, got {size}')
    if not vary:
        return size, size
    short = int(round(size * rng.choice([0.75, 0.8, 0.875, 0.94, 1.0])))
    return (short, size) if rng.random() < 0.65 else (size, short)


def _num_objects(rng: np.random.Generator) -> int:
    """1-3 objects, mostly several (multi-label datasets)."""
    return int(rng.choice([1, 2, 3], p=[0.25, 0.4, 0.35]))


def _distinct_labels(rng: np.random.Generator, used: Sequence[int],
                     count: int) -> List[int]:
    """``count`` labels from ``used``, distinct while possible."""
    replace = count > len(used)
    return [int(x) for x in rng.choice(used, size=count, replace=replace)]


def _boundary_band(label_map: np.ndarray) -> np.ndarray:
    """Pixels within ~1 px of a change of ``label_map`` (width-2 band)."""
    kernel = np.ones((3, 3), np.uint8)
    return cv2.dilate(label_map, kernel) != cv2.erode(label_map, kernel)


def _mkdir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


def _write_jpeg(path: str, image: np.ndarray) -> None:
    _mkdir(osp.dirname(path))
    if not cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise IOError(f'failed to write {path}')


def _write_png(path: str, array: np.ndarray) -> None:
    """Single-channel uint8 PNG (lossless)."""
    _mkdir(osp.dirname(path))
    if not cv2.imwrite(path, array.astype(np.uint8)):
        raise IOError(f'failed to write {path}')


def _write_palette_png(path: str, array: np.ndarray) -> None:
    """Indexed ('P' mode) PNG with the VOC palette."""
    from PIL import Image
    _mkdir(osp.dirname(path))
    height, width = array.shape
    img = Image.frombytes('P', (width, height),
                          np.ascontiguousarray(array, np.uint8).tobytes())
    img.putpalette(voc_palette())
    img.save(path, format='PNG')


def _write_lines(path: str, lines: Sequence[str]) -> None:
    _mkdir(osp.dirname(path))
    with open(path, 'w', newline='\n') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _write_json(path: str, obj) -> None:
    _mkdir(osp.dirname(path))
    with open(path, 'w', newline='\n') as f:
        json.dump(obj, f, separators=(',', ':'))


def _sub(parent: ET.Element, tag: str, text=None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    if text is not None:
        node.text = str(text)
    return node


def _write_voc_xml(path: str, *, folder: str, filename: str, width: int,
                   height: int, objects: Sequence[dict],
                   segmented: Optional[int]) -> None:
    """Write a VOC-style annotation; boxes converted to 1-based inclusive."""
    root = ET.Element('annotation')
    _sub(root, 'folder', folder)
    _sub(root, 'filename', filename)
    source = _sub(root, 'source')
    _sub(source, 'database', 'mmbas toy data')
    size = _sub(root, 'size')
    _sub(size, 'width', width)
    _sub(size, 'height', height)
    _sub(size, 'depth', 3)
    if segmented is not None:
        _sub(root, 'segmented', segmented)
    for obj in objects:
        node = _sub(root, 'object')
        _sub(node, 'name', obj['name'])
        _sub(node, 'pose', 'Unspecified')
        _sub(node, 'truncated', int(obj['truncated']))
        _sub(node, 'occluded', int(obj['occluded']))
        _sub(node, 'difficult', 0)
        box = _sub(node, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), obj['bbox']):
            _sub(box, tag, value + 1)
    ET.indent(root, space='\t')
    _mkdir(osp.dirname(path))
    with open(path, 'w', newline='\n') as f:
        f.write(ET.tostring(root, encoding='unicode') + '\n')


def _named(objects: Sequence[dict], classes: Sequence[str]) -> List[dict]:
    """Add ``name`` to every object dict."""
    return [dict(obj, name=classes[obj['label']]) for obj in objects]


def _record(rec_id: str, img_path: str, scene: dict, classes, **extra):
    objects = _named(scene['objects'], classes)
    height, width = scene['instances'].shape
    return dict(
        id=rec_id,
        img_path=img_path,
        width=int(width),
        height=int(height),
        labels=sorted({o['label']
                       for o in objects}),
        objects=objects,
        **extra)


def _check_num_classes(num_classes: int, available: int) -> None:
    limit = min(available, MAX_TOY_CLASSES)
    if not 1 <= num_classes <= limit:
        raise ValueError(f'num_classes must be in [1, {limit}], '
                         f'got {num_classes}')


# --------------------------------------------------------------------------
# PASCAL VOC 2012 (+ SBD-style SegmentationClassAug)
# --------------------------------------------------------------------------
def make_voc(root: str,
             *,
             seed: int = 0,
             num_train: int = 16,
             num_val: int = 8,
             size: int = 128,
             num_classes: int = 4,
             num_aug_extra: Optional[int] = None) -> dict:
    """Write a toy ``VOCdevkit/VOC2012`` under ``root``.

    Files (``<id>`` like ``2008_000001``)::

        VOCdevkit/VOC2012/JPEGImages/<id>.jpg        image (all ids)
        VOCdevkit/VOC2012/Annotations/<id>.xml       VOC XML, 1-based boxes
        VOCdevkit/VOC2012/SegmentationClass/<id>.png palette PNG, 0..20, 255
                                                     on a boundary band
                                                     (train/val ids only)
        VOCdevkit/VOC2012/SegmentationObject/<id>.png palette PNG, instance
                                                     1..n, 0 bg, 255 band
        VOCdevkit/VOC2012/SegmentationClassAug/<id>.png gray PNG, 0..20, 255
                                                     band (all ids)
        VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval,
                                                  trainaug,aug}.txt

    ``trainaug`` = train + ``num_aug_extra`` SBD-like ids that only have
    ``SegmentationClassAug`` (default ``num_train // 2``).  ``num_classes``
    is the number of VOC classes actually used (the first ones in the
    official order); XML holds the real names and label values are the real
    VOC indices (1 = aeroplane ...).

    Manifest records have ``ann_path``, ``seg_path`` (None for aug-only ids),
    ``obj_seg_path`` (idem) and ``aug_seg_path``; splits ``train``, ``val``,
    ``aug`` (the extra ids).
    """
    _check_num_classes(num_classes, len(VOC_CLASSES))
    if num_aug_extra is None:
        num_aug_extra = num_train // 2
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    used = list(range(num_classes))
    years = {'train': 2008, 'val': 2010, 'aug': 2011}
    counts = {'train': num_train, 'val': num_val, 'aug': num_aug_extra}
    splits = {}
    for split, count in counts.items():
        records = []
        for i in range(count):
            rng = _image_rng(seed, 'voc', split, i)
            height, width = _image_size(rng, size)
            labels = _distinct_labels(rng, used, _num_objects(rng))
            scene = render_scene(rng, height, width, labels)
            records.append(
                _write_voc_image(
                    data_root, f'{years[split]}_'
                    f'{i + 1:06d}',
                    scene,
                    with_voc_seg=split != 'aug'))
        splits[split] = records
    sets_dir = osp.join(data_root, 'ImageSets', 'Segmentation')
    ids = {k: [r['id'] for r in v] for k, v in splits.items()}
    _write_lines(osp.join(sets_dir, 'train.txt'), ids['train'])
    _write_lines(osp.join(sets_dir, 'val.txt'), ids['val'])
    _write_lines(osp.join(sets_dir, 'trainval.txt'), ids['train'] + ids['val'])
    _write_lines(
        osp.join(sets_dir, 'trainaug.txt'), sorted(ids['train'] + ids['aug']))
    # what mmseg's voc_aug converter writes: the SBD-only ids, outside VOC
    # train and val (mmseg's voc12aug configs concatenate train and aug)
    _write_lines(osp.join(sets_dir, 'aug.txt'), sorted(ids['aug']))
    return dict(
        name='voc',
        root=data_root,
        classes=list(VOC_CLASSES),
        used_classes=used,
        splits=splits)


def _write_voc_image(data_root: str, img_id: str, scene: dict,
                     with_voc_seg: bool) -> dict:
    """Write image, XML and label PNGs of one VOC id; return its record."""
    img_path = osp.join(data_root, 'JPEGImages', f'{img_id}.jpg')
    _write_jpeg(img_path, scene['image'])
    instances = scene['instances']
    semantic = np.zeros_like(instances)
    for inst_id, obj in enumerate(scene['objects'], start=1):
        semantic[instances == inst_id] = obj['label'] + 1
    band = _boundary_band(instances)
    height, width = instances.shape
    objects = _named(scene['objects'], VOC_CLASSES)
    ann_path = osp.join(data_root, 'Annotations', f'{img_id}.xml')
    _write_voc_xml(
        ann_path,
        folder='VOC2012',
        filename=f'{img_id}.jpg',
        width=width,
        height=height,
        objects=objects,
        segmented=int(with_voc_seg))
    aug_path = osp.join(data_root, 'SegmentationClassAug', f'{img_id}.png')
    _write_png(aug_path, np.where(band, 255, semantic))
    seg_path = obj_path = None
    if with_voc_seg:
        seg_path = osp.join(data_root, 'SegmentationClass', f'{img_id}.png')
        obj_path = osp.join(data_root, 'SegmentationObject', f'{img_id}.png')
        _write_palette_png(seg_path, np.where(band, 255, semantic))
        _write_palette_png(obj_path, np.where(band, 255, instances))
    return _record(
        img_id,
        img_path,
        scene,
        VOC_CLASSES,
        ann_path=ann_path,
        seg_path=seg_path,
        obj_seg_path=obj_path,
        aug_seg_path=aug_path)


# --------------------------------------------------------------------------
# COCO 2014
# --------------------------------------------------------------------------
def _coco_categories() -> List[dict]:
    supers = [name for name, n in _COCO_SUPERCATEGORIES for _ in range(n)]
    return [
        dict(supercategory=sup, id=cid, name=name)
        for sup, cid, name in zip(supers, COCO_CATEGORY_IDS, COCO_CLASSES)
    ]


def _mask_polygons(mask: np.ndarray) -> List[List[float]]:
    """COCO polygons (x, y pixel-index coordinates) of a binary mask.

    ``cv2.fillPoly`` of these polygons reproduces the mask except for
    fragments smaller than 3 contour points, which are dropped.
    """
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if len(contour) >= 3:
            polygons.append([float(v) for v in contour.reshape(-1)])
    return polygons


def make_coco(root: str,
              *,
              seed: int = 0,
              num_train: int = 16,
              num_val: int = 8,
              size: int = 128,
              num_classes: int = 4) -> dict:
    """Write a toy COCO 2014 under ``<root>/coco``.

    Files::

        coco/train2014/COCO_train2014_<012d id>.jpg
        coco/val2014/COCO_val2014_<012d id>.jpg
        coco/annotations/instances_{train,val}2014.json  real schema: info,
            licenses, images[id,file_name,width,height], annotations[id,
            image_id,category_id,segmentation (polygons),area (exact visible
            pixel count),bbox [x,y,w,h] of the visible mask,iscrowd 0],
            categories (all 80 with real ids 1..90 and supercategories)
        coco/exact_masks/{train2014,val2014}/<file stem>.png  exact semantic
            mask, uint8: 0 background, 1..80 = COCO class index + 1 (COCO
            category order), no ignore label.

    ``num_classes`` is the number of categories used (the first ones in
    COCO order).  Manifest records have ``coco_id``, ``exact_mask_path`` and
    each object additionally ``category_id`` and ``ann_id``; manifest has
    ``ann_files`` {split: path}.
    """
    _check_num_classes(num_classes, len(COCO_CLASSES))
    data_root = osp.join(root, 'coco')
    used = list(range(num_classes))
    categories = _coco_categories()
    splits, ann_files = {}, {}
    for split, count, base_id in (('train', num_train, 100000),
                                  ('val', num_val, 200000)):
        folder = f'{split}2014'
        images, annotations, records = [], [], []
        for i in range(count):
            rng = _image_rng(seed, 'coco', split, i)
            height, width = _image_size(rng, size)
            labels = _distinct_labels(rng, used, _num_objects(rng))
            scene = render_scene(rng, height, width, labels)
            coco_id = base_id + 7 * i + 1
            stem = f'COCO_{folder}_{coco_id:012d}'
            img_path = osp.join(data_root, folder, f'{stem}.jpg')
            _write_jpeg(img_path, scene['image'])
            instances = scene['instances']
            semantic = np.zeros_like(instances)
            record = _record(
                stem,
                img_path,
                scene,
                COCO_CLASSES,
                coco_id=coco_id,
                exact_mask_path=osp.join(data_root, 'exact_masks', folder,
                                         f'{stem}.png'))
            for inst_id, obj in enumerate(record['objects'], start=1):
                visible = instances == inst_id
                semantic[visible] = obj['label'] + 1
                x0, y0, x1, y1 = obj['bbox']
                obj['category_id'] = COCO_CATEGORY_IDS[obj['label']]
                obj['ann_id'] = len(annotations) + 1
                annotations.append(
                    dict(
                        id=obj['ann_id'],
                        image_id=coco_id,
                        category_id=obj['category_id'],
                        segmentation=_mask_polygons(visible),
                        area=float(obj['area']),
                        bbox=[x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                        iscrowd=0))
            _write_png(record['exact_mask_path'], semantic)
            images.append(
                dict(
                    id=coco_id,
                    file_name=f'{stem}.jpg',
                    width=record['width'],
                    height=record['height'],
                    license=1))
            records.append(record)
        ann_files[split] = osp.join(data_root, 'annotations',
                                    f'instances_{folder}.json')
        _write_json(
            ann_files[split],
            dict(
                info=dict(description='mmbas toy COCO 2014', version='1.0'),
                licenses=[dict(id=1, name='toy', url='')],
                images=images,
                annotations=annotations,
                categories=categories))
        splits[split] = records
    return dict(
        name='coco',
        root=data_root,
        classes=list(COCO_CLASSES),
        used_classes=used,
        ann_files=ann_files,
        splits=splits)


# --------------------------------------------------------------------------
# CUB-200-2011
# --------------------------------------------------------------------------
def _cub_class_dirs(num_classes: int) -> List[str]:
    names = [
        _CUB_CLASSES[i] if i < len(_CUB_CLASSES) else f'Toy_Bird_{i + 1:03d}'
        for i in range(num_classes)
    ]
    return [f'{i + 1:03d}.{name}' for i, name in enumerate(names)]


def make_cub(root: str,
             *,
             seed: int = 0,
             num_train: int = 16,
             num_val: int = 8,
             size: int = 112,
             num_classes: int = 4) -> dict:
    """Write a toy ``CUB_200_2011`` (+ ``segmentations``) under ``root``.

    Files (``<cls>`` like ``001.Black_footed_Albatross``)::

        CUB_200_2011/images/<cls>/<name>.jpg
        CUB_200_2011/classes.txt            "<class id 1-based> <cls>"
        CUB_200_2011/images.txt             "<image id> <cls>/<name>.jpg"
        CUB_200_2011/image_class_labels.txt "<image id> <class id 1-based>"
        CUB_200_2011/train_test_split.txt   "<image id> <1 train | 0 test>"
        CUB_200_2011/bounding_boxes.txt     "<image id> <x> <y> <w> <h>"
                                            floats, 0-based, w = x1 - x0 + 1
        segmentations/<cls>/<name>.png      gray PNG, 0 bg / 255 object

    One object per image, classes balanced (round robin).  Image ids are
    1-based, sorted by relative path (train/test interleaved like CUB).
    ``num_val`` is the number of test images.  Manifest records have
    ``image_id``, ``relpath``, ``seg_path`` and ``is_train``; splits
    ``train`` and ``test``.  Class names in the manifest are the folder
    names.
    """
    _check_num_classes(num_classes, MAX_TOY_CLASSES)
    data_root = osp.join(root, 'CUB_200_2011')
    class_dirs = _cub_class_dirs(num_classes)
    pending = []
    for split, count in (('train', num_train), ('test', num_val)):
        for i in range(count):
            rng = _image_rng(seed, 'cub', split, i)
            height, width = _image_size(rng, size)
            label = i % num_classes
            scene = render_scene(
                rng, height, width, [label], scale=(0.22, 0.36))
            serial = i // num_classes + 1 + (0 if split == 'train' else
                                             (num_train + num_classes - 1) //
                                             num_classes)
            short = class_dirs[label].split('.', 1)[1]
            uid = 700000 + _SPLIT_CODES[split] * 10000 + i
            relpath = f'{class_dirs[label]}/{short}_{serial:04d}_{uid}.jpg'
            pending.append((relpath, split, label, scene))
    pending.sort(key=lambda item: item[0])
    splits = {'train': [], 'test': []}
    images, labels_txt, split_txt, boxes_txt = [], [], [], []
    for image_id, (relpath, split, label, scene) in enumerate(pending, 1):
        img_path = osp.join(data_root, 'images', relpath)
        _write_jpeg(img_path, scene['image'])
        seg_path = osp.join(root, 'segmentations',
                            relpath[:-len('.jpg')] + '.png')
        _write_png(seg_path, np.where(scene['instances'] > 0, 255, 0))
        x0, y0, x1, y1 = scene['objects'][0]['bbox']
        images.append(f'{image_id} {relpath}')
        labels_txt.append(f'{image_id} {label + 1}')
        split_txt.append(f'{image_id} {int(split == "train")}')
        boxes_txt.append(f'{image_id} {x0:.1f} {y0:.1f} '
                         f'{x1 - x0 + 1:.1f} {y1 - y0 + 1:.1f}')
        splits[split].append(
            _record(
                str(image_id),
                img_path,
                scene,
                class_dirs,
                image_id=image_id,
                relpath=relpath,
                seg_path=seg_path,
                is_train=split == 'train'))
    _write_lines(
        osp.join(data_root, 'classes.txt'),
        [f'{i + 1} {name}' for i, name in enumerate(class_dirs)])
    _write_lines(osp.join(data_root, 'images.txt'), images)
    _write_lines(osp.join(data_root, 'image_class_labels.txt'), labels_txt)
    _write_lines(osp.join(data_root, 'train_test_split.txt'), split_txt)
    _write_lines(osp.join(data_root, 'bounding_boxes.txt'), boxes_txt)
    return dict(
        name='cub',
        root=data_root,
        seg_root=osp.join(root, 'segmentations'),
        classes=class_dirs,
        used_classes=list(range(num_classes)),
        splits=splits)


# --------------------------------------------------------------------------
# ILSVRC (ImageNet-1k style, boxes)
# --------------------------------------------------------------------------
def _write_wsol_metadata(meta_dir: str,
                         records: Sequence[dict],
                         localization=None) -> None:
    """Write wsolevaluation metadata files (``image_ids``, ``class_labels``,
    ``image_sizes`` and, when ``localization(record) -> lines`` is given,
    ``localization``) for records with a ``relpath``."""
    lines = {'image_ids': [], 'class_labels': [], 'image_sizes': []}
    if localization is not None:
        lines['localization'] = []
    for rec in records:
        path = rec['relpath']
        lines['image_ids'].append(path)
        lines['class_labels'].append(f'{path},{rec["labels"][0]}')
        lines['image_sizes'].append(f'{path},{rec["width"]},{rec["height"]}')
        if localization is not None:
            lines['localization'].extend(localization(rec))
    for key, values in lines.items():
        _write_lines(osp.join(meta_dir, f'{key}.txt'), values)


def _box_lines(rec: dict) -> List[str]:
    """``path,x0,y0,x1,y1`` per object (ILSVRC localization.txt)."""
    return [
        rec['relpath'] + ',' + ','.join(str(v) for v in obj['bbox'])
        for obj in rec['objects']
    ]


def _mask_lines(rec: dict) -> List[str]:
    """``path,mask_path,ignore_path`` per instance (OpenImages)."""
    return [
        f'{rec["relpath"]},{m},{rec["ignore_path"]}' for m in rec['mask_paths']
    ]


def make_ilsvrc(root: str,
                *,
                seed: int = 0,
                num_train: int = 16,
                num_val: int = 8,
                size: int = 112,
                num_classes: int = 4) -> dict:
    """Write a toy ImageNet-1k box set under ``<root>/ILSVRC`` + metadata.

    Files (``<wnid>`` real ImageNet wnids for the first 10 classes)::

        ILSVRC/train/<wnid>/<wnid>_<n>.JPEG        one object per image
        ILSVRC/val/ILSVRC2012_val_<08d>.JPEG       1-2 objects, same class
        ILSVRC/val_boxes/ILSVRC2012_val_<08d>.xml  VOC-style XML, name =
                                                   wnid, 1-based inclusive
        ILSVRC/train.txt   "<wnid>/<wnid>_<n>.JPEG <label>" (relative to
                           ILSVRC/train, mmpretrain ImageNet style)
        ILSVRC/val.txt     "ILSVRC2012_val_<08d>.JPEG <label>" (rel. to val)
        ILSVRC/classes.txt "<wnid>" per line, label order
        metadata/ILSVRC/{train,val}/image_ids.txt    "train/<wnid>/..JPEG"
                                                     (relative to ILSVRC/)
        metadata/ILSVRC/{train,val}/class_labels.txt "<path>,<label>"
        metadata/ILSVRC/{train,val}/image_sizes.txt  "<path>,<w>,<h>"
        metadata/ILSVRC/{train,val}/localization.txt "<path>,x0,y0,x1,y1"
                                    one line per box, 0-based inclusive

    Labels are 0-based.  Manifest records have ``relpath`` (relative to
    ``ILSVRC/``) and, for val, ``ann_path``.
    """
    _check_num_classes(num_classes, MAX_TOY_CLASSES)
    data_root = osp.join(root, 'ILSVRC')
    wnids = [
        _ILSVRC_WNIDS[i] if i < len(_ILSVRC_WNIDS) else f'n9{i:07d}'
        for i in range(num_classes)
    ]
    splits = {'train': [], 'val': []}
    for i in range(num_train):
        rng = _image_rng(seed, 'ilsvrc', 'train', i)
        height, width = _image_size(rng, size)
        label = i % num_classes
        scene = render_scene(rng, height, width, [label], scale=(0.22, 0.36))
        wnid = wnids[label]
        relpath = f'train/{wnid}/{wnid}_{i // num_classes + 1}.JPEG'
        img_path = osp.join(data_root, relpath)
        _write_jpeg(img_path, scene['image'])
        splits['train'].append(
            _record(
                f'{wnid}_{i // num_classes + 1}',
                img_path,
                scene,
                wnids,
                relpath=relpath))
    for i in range(num_val):
        rng = _image_rng(seed, 'ilsvrc', 'val', i)
        height, width = _image_size(rng, size)
        label = i % num_classes
        count = 1 if rng.random() < 0.6 else 2
        scene = render_scene(
            rng, height, width, [label] * count, scale=(0.18, 0.3))
        stem = f'ILSVRC2012_val_{i + 1:08d}'
        relpath = f'val/{stem}.JPEG'
        img_path = osp.join(data_root, relpath)
        _write_jpeg(img_path, scene['image'])
        ann_path = osp.join(data_root, 'val_boxes', f'{stem}.xml')
        record = _record(
            stem, img_path, scene, wnids, relpath=relpath, ann_path=ann_path)
        _write_voc_xml(
            ann_path,
            folder='val',
            filename=stem,
            width=record['width'],
            height=record['height'],
            objects=record['objects'],
            segmented=None)
        splits['val'].append(record)
    _write_lines(
        osp.join(data_root, 'train.txt'), [
            f'{r["relpath"][len("train/"):]} {r["labels"][0]}'
            for r in splits['train']
        ])
    _write_lines(
        osp.join(data_root, 'val.txt'), [
            f'{r["relpath"][len("val/"):]} {r["labels"][0]}'
            for r in splits['val']
        ])
    _write_lines(osp.join(data_root, 'classes.txt'), wnids)
    for split, records in splits.items():
        _write_wsol_metadata(
            osp.join(root, 'metadata', 'ILSVRC', split), records, _box_lines)
    return dict(
        name='ilsvrc',
        root=data_root,
        metadata_root=osp.join(root, 'metadata', 'ILSVRC'),
        classes=wnids,
        used_classes=list(range(num_classes)),
        splits=splits)


# --------------------------------------------------------------------------
# OpenImages30k (wsolevaluation layout, masks)
# --------------------------------------------------------------------------
def make_openimages(root: str,
                    *,
                    seed: int = 0,
                    num_train: int = 16,
                    num_val: int = 8,
                    size: int = 112,
                    num_classes: int = 4) -> dict:
    """Write a toy OpenImages30k (wsolevaluation layout) under ``root``.

    Files (``<cid>`` an OpenImages class id without ``/m/``, ``<name>`` a
    16-hex-digit image id)::

        OpenImages/{train,val,test}/<cid>/<name>.jpg
        OpenImages/mask/{val,test}/<cid>/<name>_<k>.png   instance k mask,
                                                          0 / 255
        OpenImages/mask/{val,test}/<cid>/<name>_ignore.png ignore region
                                  (2-px band on instance boundaries), 0/255
        metadata/OpenImages/{train,val,test}/image_ids.txt    "<split>/<cid>/
                                                   <name>.jpg" (rel. to
                                                   OpenImages/)
        metadata/OpenImages/{train,val,test}/class_labels.txt "<path>,<label>"
        metadata/OpenImages/{train,val,test}/image_sizes.txt  "<path>,<w>,<h>"
        metadata/OpenImages/{val,test}/localization.txt
            "<path>,<mask path>,<ignore path>" one line per instance mask,
            mask paths relative to OpenImages/ (train has no masks, like
            the real set).

    ``num_val`` images each for val and test; val/test images hold 1-2
    objects of one class, train images one.  Manifest records have
    ``relpath`` and (val/test) ``mask_paths`` (per object, same order as
    ``objects``) and ``ignore_path``; manifest has ``class_ids``.
    """
    _check_num_classes(num_classes, MAX_TOY_CLASSES)
    data_root = osp.join(root, 'OpenImages')
    class_ids = [
        _OPENIMAGES_CLASSES[i][0]
        if i < len(_OPENIMAGES_CLASSES) else f'0toy{i:03d}'
        for i in range(num_classes)
    ]
    names = [
        _OPENIMAGES_CLASSES[i][1]
        if i < len(_OPENIMAGES_CLASSES) else f'Toy{i:03d}'
        for i in range(num_classes)
    ]
    splits = {}
    for split, count in (('train', num_train), ('val', num_val), ('test',
                                                                  num_val)):
        records = []
        for i in range(count):
            rng = _image_rng(seed, 'openimages', split, i)
            height, width = _image_size(rng, size)
            label = i % num_classes
            num_obj = 1 if split == 'train' or rng.random() < 0.6 else 2
            scene = render_scene(
                rng,
                height,
                width, [label] * num_obj,
                scale=(0.22, 0.36) if num_obj == 1 else (0.18, 0.3))
            name = f'{int(rng.integers(0, 2**63)):016x}'
            relpath = f'{split}/{class_ids[label]}/{name}.jpg'
            img_path = osp.join(data_root, relpath)
            _write_jpeg(img_path, scene['image'])
            extra = dict(relpath=relpath)
            if split != 'train':
                extra.update(
                    _write_openimages_masks(
                        data_root, f'mask/{split}/{class_ids[label]}/{name}',
                        scene['instances']))
            records.append(_record(name, img_path, scene, names, **extra))
        splits[split] = records
        _write_wsol_metadata(
            osp.join(root, 'metadata', 'OpenImages', split), records,
            _mask_lines if split != 'train' else None)
    return dict(
        name='openimages',
        root=data_root,
        metadata_root=osp.join(root, 'metadata', 'OpenImages'),
        classes=names,
        class_ids=class_ids,
        used_classes=list(range(num_classes)),
        splits=splits)


def _write_openimages_masks(data_root: str, stem: str,
                            instances: np.ndarray) -> dict:
    """Write instance masks + ignore mask; return relative paths."""
    mask_paths = []
    for inst_id in range(1, int(instances.max()) + 1):
        rel = f'{stem}_{inst_id - 1}.png'
        _write_png(
            osp.join(data_root, rel), np.where(instances == inst_id, 255, 0))
        mask_paths.append(rel)
    ignore_rel = f'{stem}_ignore.png'
    _write_png(
        osp.join(data_root, ignore_rel),
        np.where(_boundary_band(instances), 255, 0))
    return dict(mask_paths=mask_paths, ignore_path=ignore_rel)


# --------------------------------------------------------------------------
TOY_DATASETS = {
    'voc': make_voc,
    'coco': make_coco,
    'cub': make_cub,
    'ilsvrc': make_ilsvrc,
    'openimages': make_openimages,
}


def make_all(root: str,
             seed: int = 0,
             datasets: Optional[Sequence[str]] = None,
             **kwargs) -> Dict[str, dict]:
    """Generate several toy datasets under ``root``.

    Args:
        root: output directory (the layouts do not collide).
        seed: base seed.
        datasets: subset of ``TOY_DATASETS`` keys; all by default.
        **kwargs: forwarded to every generator (``num_train``, ``num_val``,
            ``size``, ``num_classes``); ``None`` values are ignored.

    Returns:
        ``{name: manifest}``.
    """
    names = list(TOY_DATASETS) if datasets is None else list(datasets)
    unknown = sorted(set(names) - set(TOY_DATASETS))
    if unknown:
        raise ValueError(f'unknown toy datasets {unknown}')
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return {
        name: TOY_DATASETS[name](root, seed=seed, **kwargs)
        for name in names
    }
