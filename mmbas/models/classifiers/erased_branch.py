# Copyright (c) mmbas contributors. All rights reserved.
"""The erased branch of BAS: f2 + classifier re-run with frozen weights."""
from typing import Dict

import torch.nn as nn
from torch import Tensor
from torch.func import functional_call


class ErasedBranch(nn.Module):
    """f2 followed by the classifier, as one module for ``functional_call``.

    Built on the fly (never attached to the model, so no parameter appears
    twice in the state dict); it only *refers* to the live modules.

    Args:
        backbone (nn.Module): The live backbone (``forward_f2`` and,
            optionally, ``f2_module_names``).
        classifier (nn.Module): The live classifier of the head.
    """

    def __init__(self, backbone: nn.Module, classifier: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        """E (N, C1, h1, w1) -> F_bg (N, C, h2, w2)."""
        return self.classifier(self.backbone.forward_f2(x))

    def frozen_state(self) -> Dict[str, Tensor]:
        """Detached parameters and cloned buffers of f2 + classifier, keyed by
        their names inside this module.

        Only the backbone children named in ``f2_module_names`` are
        included (the whole backbone when it has no such attribute: the f1
        weights are then simply unused).
        """
        names = getattr(self.backbone, 'f2_module_names', None)
        if names is None:
            parts = [('backbone', self.backbone)]
        else:
            parts = [(f'backbone.{n}', getattr(self.backbone, n))
                     for n in names]
        parts.append(('classifier', self.classifier))
        state = {}
        for prefix, module in parts:
            for name, param in module.named_parameters(prefix=prefix):
                state[name] = param.detach()
            for name, buf in module.named_buffers(prefix=prefix):
                state[name] = buf.clone()
        return state


def erased_forward(backbone: nn.Module, classifier: nn.Module,
                   erased: Tensor) -> Tensor:
    """Run erased features through f2 + classifier with frozen weights.

    :func:`torch.func.functional_call` on an :class:`ErasedBranch` whose
    parameters are replaced by ``p.detach()`` and whose buffers (BatchNorm
    running statistics) by clones: the result uses the *same* weights as
    the live modules but sends them no gradient, and BatchNorm runs in the
    live modules' mode (train mode during training) on the erased batch
    while writing its running statistics into the clones only, so the live
    statistics are updated by the main branch alone. No deepcopy, no loop
    over the batch.

    Args:
        backbone (nn.Module): The live backbone.
        classifier (nn.Module): The live classifier (F2 -> F).
        erased (Tensor): (N, C1, h1, w1) erased features E.

    Returns:
        Tensor: (N, C, h2, w2) class activation map F_bg of E. Gradients
        flow into ``erased`` only.
    """
    branch = ErasedBranch(backbone, classifier)
    return functional_call(
        branch, branch.frozen_state(), (erased, ), strict=False)
