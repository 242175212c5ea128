# Copyright (c) mmbas contributors. All rights reserved.
from .pixel_pairs import (as_valid_sizes, boundary_to_affinity, pair_offsets,
                          pair_valid_mask, segment_pixels)

__all__ = [
    'pair_offsets', 'segment_pixels', 'boundary_to_affinity',
    'pair_valid_mask', 'as_valid_sizes'
]
