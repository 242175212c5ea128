# Runtime shared by every mmbas config: mmseg's default runtime (scope
# 'mmseg', logging, visualizer, SegTTAModel) plus the mmbas import, which
# registers mmbas's modules into mmseg's registries and applies the stack
# fixes (docs/compatibility.md).
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmbas'], allow_failed_imports=False)

# the random positive class of multi-label BAS is drawn from a generator
# seeded from here too
randomness = dict(seed=0)

# the model and the datasets must agree on the number of classes: checked
# before the first step, with the config key to fix in the message; the
# class sampler of multi-label BAS is saved with each checkpoint, so that
# --resume continues exactly
custom_hooks = [
    dict(type='NumClassesCheckHook'),
    dict(type='ClassSamplerStateHook')
]
