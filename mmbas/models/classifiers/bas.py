# Copyright (c) mmbas contributors. All rights reserved.
"""The BAS model (Background Activation Suppression)."""
from typing import Callable, Dict, Optional, Tuple

import torch
from mmseg.registry import MODELS
from torch import Tensor

from .base_weakly_supervised import BaseWeaklySupervisedModel, SampleList
from .erased_branch import erased_forward


@MODELS.register_module()
class BAS(BaseWeaklySupervisedModel):
    """Background Activation Suppression for WSOL and WSSS.

    backbone f1 -> F1 -> generator -> M; F1 -> f2 -> F2 -> classifier -> F,
    S = GAP(F); erased branch detach(F1) * (1 - M[y]) -> frozen f2 +
    classifier -> S_bg. Loss = L_cls + alpha L_frg + L_bas + beta L_ac
    (weights live in the head's loss configs).

    Class selection (``y``): single-label data use the GT class;
    multi-label data draw, per image and step, one positive class uniformly
    at random with a ``torch.Generator`` seeded with ``seed`` (default:
    ``torch.initial_seed()`` when the model is built, i.e. the runner's
    ``randomness.seed``). Draws are made on the input's device, without host
    synchronisation. The generators' states go into every checkpoint and
    come back on ``--resume`` (:meth:`sampler_state`,
    :class:`~mmbas.engine.hooks.ClassSamplerStateHook`), so a resumed run
    draws the classes an uninterrupted one would. For tests, set
    ``model.class_sampler`` to a callable
    ``(multi_hot (N, C), first (N,)) -> (N,)`` long tensor, or patch
    :meth:`_choose_classes`.

    Args:
        backbone (dict): Backbone with ``forward_f1``, ``forward_f2`` and
            ``f2_module_names``.
        head (dict): :class:`BASHead` config.
        seed (int, optional): Seed of the class sampler.
        **kwargs: See :class:`BaseWeaklySupervisedModel`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 seed: Optional[int] = None,
                 **kwargs):
        super().__init__(backbone=backbone, head=head, **kwargs)
        self.seed = int(torch.initial_seed() if seed is None else seed)
        self._generators: Dict[str, torch.Generator] = {}
        self.class_sampler: Optional[Callable] = None

    # ------------------------------------------------------------------
    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self._generators[key] = gen
        return self._generators[key]

    def sampler_state(self) -> Dict[str, Tensor]:
        """The states of the class-sampler generators, ``{device: uint8 state
        tensor}`` (empty before the first multi-label step)."""
        return {key: gen.get_state() for key, gen in self._generators.items()}

    def load_sampler_state(self, state: Dict[str, Tensor]) -> None:
        """Restore :meth:`sampler_state` (generators of other devices are
        created, seeded with ``seed``, then set)."""
        for key, gen_state in state.items():
            self._generator(torch.device(key)).set_state(
                gen_state.to(device='cpu', dtype=torch.uint8))

    def _choose_classes(self, multi_hot: Tensor, first: Tensor) -> Tensor:
        """Select one class per image, (N,) long.

        Single-label: the GT class. Multi-label: uniform over the positives
        (the k-th positive with k = floor(u * K_i), u ~ U[0, 1)).
        """
        if self.class_sampler is not None:
            return torch.as_tensor(self.class_sampler(multi_hot, first)).to(
                device=multi_hot.device, dtype=torch.long)
        if not self.multi_label:
            return first
        n = multi_hot.shape[0]
        u = torch.rand((n, 1),
                       generator=self._generator(multi_hot.device),
                       device=multi_hot.device)
        num_pos = multi_hot.sum(1, keepdim=True)
        k = torch.minimum((u * num_pos).floor(), num_pos - 1)
        hit = (multi_hot.cumsum(1) > k) & (multi_hot > 0)
        return hit.to(torch.uint8).argmax(1)

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Return the weighted loss terms ``loss_cls``, ``loss_frg``,
        ``loss_bas``, ``loss_area`` (keyed by the head's loss modules'
        ``loss_name``) and the logs ``acc``, ``bg_ratio``.

        The head gives M_f and F (``head.forward``), the model runs the
        erased branch (it owns the backbone's f2 and the head's
        classifier, :meth:`erased_forward`), the head turns the three
        outputs into losses (``head.loss_by_feat``).
        """
        first, multi_hot, _ = self.parse_labels(data_samples, inputs.device)
        cls_idx = self._choose_classes(multi_hot, first)
        cls_target = multi_hot if self.multi_label else first
        f1, f2 = self.extract_feat(inputs)
        fg_map, cam = self.head(f1, f2, cls_idx)  # M_f, F
        cam_bg = self.erased_forward(f1.detach() * (1 - fg_map))
        return self.head.loss_by_feat(fg_map, cam, cam_bg, cls_idx, cls_target)

    def erased_forward(self, erased: Tensor) -> Tensor:
        """Run erased features through f2 + the head's classifier with frozen
        weights (:func:`.erased_branch.erased_forward`).

        Args:
            erased (Tensor): (N, C1, h1, w1) erased features
                ``E = detach(F1) * (1 - M_f)``.

        Returns:
            Tensor: (N, C, h2, w2) class activation map F_bg of E.
            Gradients flow into ``erased`` only; the live weights get none
            and the live BatchNorm running statistics are not modified.
        """
        return erased_forward(self.backbone, self.head.classifier, erased)

    def forward_maps(
            self,
            inputs: Tensor,
            with_scores: bool = True) -> Tuple[Tensor, Optional[Tensor]]:
        """Return M (N, C, h1, w1) in [0, 1] and S (N, C).

        M = generator(F1) does not depend on f2 or the classifier: with
        ``with_scores=False`` only F1 and the generator run (same M, a
        fraction of the cost) and S is None.
        """
        if not with_scores:
            inputs = self._prepare_inputs(inputs)
            f1 = self._run_backbone(self.backbone.forward_f1, inputs, inputs)
            return self.head.forward_generator(f1), None
        f1, f2 = self.extract_feat(inputs)
        maps, _, score = self.head.predict_maps(f1, f2)
        return maps, score

    def _forward(
        self,
        inputs: Tensor,
        data_samples: Optional[SampleList] = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Return (M, F, S)."""
        f1, f2 = self.extract_feat(inputs)
        return self.head.predict_maps(f1, f2)
