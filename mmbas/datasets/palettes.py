# Copyright (c) mmbas contributors. All rights reserved.
"""Colour palettes of the label maps mmbas reads and writes."""
from typing import List


def voc_palette() -> List[int]:
    """Flat 256 * 3 RGB palette of PASCAL VOC label PNGs (bit spreading of the
    label over the high bits of R, G and B; 255 = the light void tone).

    Used for every label PNG mmbas writes (pseudo masks, toy data).
    """
    palette = []
    for label in range(256):
        rgb = [0, 0, 0]
        bits = label
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((bits >> channel) & 1) << shift
            bits >>= 3
        palette.extend(rgb)
    return palette


def coco_palette(n: int) -> List[List[int]]:
    """``n`` deterministic distinct [R, G, B] colours, background black (the
    ``palette`` metainfo of the COCO datasets)."""
    palette = [[0, 0, 0]]
    for i in range(1, n):
        palette.append([(i * 67) % 256, (i * 131 + 50) % 256,
                        (i * 199 + 100) % 256])
    return palette
