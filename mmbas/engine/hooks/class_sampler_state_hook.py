# Copyright (c) mmbas contributors. All rights reserved.
"""Checkpoint the state of the BAS class sampler, for exact resumption."""
from typing import Dict

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

#: checkpoint key of the states (beside mmengine's ``meta``, ``state_dict``,
#: ``optimizer``, ``param_schedulers`` and ``message_hub``)
CHECKPOINT_KEY = 'class_sampler_state'


def _samplers(runner) -> Dict[str, object]:
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return {
        name: module
        for name, module in model.named_modules()
        if callable(getattr(module, 'sampler_state', None))
    }


@HOOKS.register_module()
class ClassSamplerStateHook(Hook):
    """Save the random class sampler of BAS models with each checkpoint and
    restore it on resume.

    mmengine's resume restores the weights, the optimizer, the schedulers,
    the message hub and the iteration, and replays the dataloader up to it
    (its sampler, and the pipeline's numpy / random draws, come from the
    re-applied seed); the ``torch.Generator`` from which multi-label BAS
    draws one positive class per image and step is the model's own and is
    not in mmengine's checkpoint. This hook stores
    ``{module name: module.sampler_state()}`` of every module that has one
    under ``checkpoint['class_sampler_state']`` and, when the run resumes
    (``cfg.resume``), gives it back with ``load_sampler_state``. A
    checkpoint without the key (written before this hook, or by a model
    without a sampler) resumes as before, with the generator re-seeded.

    What else a resumed run depends on: numpy's and Python's generators
    (the pipeline's flips and crops) are re-seeded by mmengine and consumed
    again by the replay of the dataloader, so they match (measured with
    ``num_workers=0``; with workers mmengine seeds each worker from the
    seed, which the replay repeats -- not measured). torch's global
    generator is not restored: the BAS and CAM training steps draw nothing
    from it, but dropout (e.g. in mmseg's DeepLab heads) does, so a resumed
    stage-3 run is not bit-exact.
    ``tests/test_tools/test_exact_resume.py`` kills a toy BAS run with
    SIGKILL after a checkpoint and checks that the resumed run ends with
    the uninterrupted run's weights and momenta (max abs diff 0).

    Part of ``configs/_base_/default_runtime.py``. The key lies beside the
    state dict, so strict weight loading (``tools/test.py``, the pseudo-label
    export, ``SeedInferencer``) is unaffected.
    """

    priority = 'NORMAL'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the sampler states in ``checkpoint``."""
        states = {
            name: module.sampler_state()
            for name, module in _samplers(runner).items()
        }
        if any(states.values()):
            checkpoint[CHECKPOINT_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the sampler states when resuming."""
        states = checkpoint.get(CHECKPOINT_KEY)
        if not states or not runner.cfg.get('resume', False):
            return
        samplers = _samplers(runner)
        for name, state in states.items():
            if name in samplers:
                samplers[name].load_sampler_state(state)
