# Copyright (c) mmbas contributors. All rights reserved.
"""The base shared by the BAS losses: weight, name, float32 evaluation."""
from abc import ABCMeta, abstractmethod

import torch.nn as nn
from torch import Tensor

from .utils import autocast_off, to_loss_dtype


class BaseLoss(nn.Module, metaclass=ABCMeta):
    """A weighted, named loss term evaluated in at least float32.

    :meth:`forward` runs :meth:`compute` with autocast disabled, on inputs
    whose half / bfloat16 tensors are cast to float32 (float32 and float64
    are kept, so the float64 fidelity tests keep their precision; integer
    labels are untouched), and multiplies the result by ``loss_weight``.
    The heads store the result under :attr:`loss_name` in their loss dict.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the term in the loss dict. mmengine adds up
            (and backpropagates) only the terms whose key contains 'loss',
            so the name must start with 'loss'. Defaults to 'loss'.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss'):
        super().__init__()
        if not str(loss_name).startswith('loss'):
            raise ValueError(
                f'loss_name of {type(self).__name__} must start with '
                f"'loss' (mmengine only sums the terms whose key contains "
                f"'loss'), got {loss_name!r}")
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @abstractmethod
    def compute(self, *inputs, **kwargs) -> Tensor:
        """The unweighted loss, a scalar, on float32 / float64 inputs."""

    def forward(self, *inputs, **kwargs) -> Tensor:
        """Return ``loss_weight * compute(*inputs)`` (see the class doc)."""
        ref = next((x for x in inputs if isinstance(x, Tensor)), None)
        if ref is None:
            raise TypeError(f'{type(self).__name__} needs tensor inputs')
        with autocast_off(ref):
            inputs = tuple(
                to_loss_dtype(x) if isinstance(x, Tensor) else x
                for x in inputs)
            loss = self.compute(*inputs, **kwargs)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Key of this term in the head's loss dict."""
        return self._loss_name

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, loss_name={self.loss_name!r}'
