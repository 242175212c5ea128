# Copyright (c) mmbas contributors. All rights reserved.
"""The classifier stage shared by the BAS and CAM heads."""
import torch.nn as nn

VARIANTS = ('wsol', 'wsss')


def build_bas_classifier(in_channels: int,
                         num_classes: int,
                         variant: str = 'wsol',
                         hidden_channels: int = 1024) -> nn.Sequential:
    """Build the classifier that turns F2 into a class activation map F.

    * ``'wsol'``: ``conv3x3(in, hidden) - ReLU - conv3x3(hidden, hidden) -
      ReLU - conv1x1(hidden, C)`` with biases; the convs are at indices 0, 2
      and 4. Following the journal version there is no ReLU after the last
      conv (class logits may be negative).
    * ``'wsss'``: ``conv1x1(in, C)`` without bias, at index 0.

    Args:
        in_channels (int): Channels of F2.
        num_classes (int): Number of foreground classes C.
        variant (str): 'wsol' or 'wsss'.
        hidden_channels (int): Width of the two hidden convs of the WSOL
            classifier. Defaults to 1024.

    Returns:
        nn.Sequential: maps (N, in_channels, h, w) to (N, C, h, w).
    """
    if variant == 'wsol':
        return nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1),
            nn.ReLU(inplace=True), nn.Conv2d(hidden_channels, num_classes, 1))
    if variant == 'wsss':
        return nn.Sequential(
            nn.Conv2d(in_channels, num_classes, 1, bias=False))
    raise ValueError(f'variant must be one of {VARIANTS}, got {variant!r}')
