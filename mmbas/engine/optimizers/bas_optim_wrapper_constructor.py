# Copyright (c) mmbas contributors. All rights reserved.
"""Optimizer groups of BAS: backbone vs new layers, times a bias multiplier.

BAS trains the pretrained backbone at a tenth of the learning rate of the
new layers (generator, classifier) and doubles the learning rate of biases
in both. mmengine's ``DefaultOptimWrapperConstructor`` cannot express that:
a parameter matched by ``custom_keys`` skips ``bias_lr_mult``. Here the two
*compose*: ``lr = base_lr * custom_key.lr_mult * (bias_lr_mult if the
parameter is a non-norm bias)``, and likewise for weight decay.
"""
from typing import List, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BASOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups whose multipliers compose.

    ``paramwise_cfg`` keys (all optional):

    - ``custom_keys`` (dict): ``{substring: dict(lr_mult=..,
      decay_mult=..)}``; the longest key contained in a parameter's full name
      wins, as in mmengine.
    - ``bias_lr_mult`` / ``bias_decay_mult`` (float): applied on top to the
      ``bias`` of every non-normalization layer.
    - ``norm_decay_mult`` (float): applied to normalization parameters.

    Example (the WSOL schedule of docs/method.md section 3: backbone lr
    1e-3, new layers 1e-2, biases 2x)::

        optim_wrapper = dict(
            optimizer=dict(type='SGD', lr=1e-2, momentum=0.9, nesterov=True,
                           weight_decay=5e-4),
            constructor='BASOptimWrapperConstructor',
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)},
                               bias_lr_mult=2.0))
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[int] = None) -> None:
        cfg = self.paramwise_cfg
        custom_keys = cfg.get('custom_keys', {})
        ordered_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bias_lr_mult = cfg.get('bias_lr_mult', 1.0)
        bias_decay_mult = cfg.get('bias_decay_mult', 1.0)
        norm_decay_mult = cfg.get('norm_decay_mult', 1.0)
        seen = set()
        for module_name, sub in module.named_modules(prefix=prefix):
            is_norm = isinstance(sub, NORM_TYPES)
            for name, param in sub.named_parameters(recurse=False):
                if id(param) in seen:
                    continue
                seen.add(id(param))
                group = {'params': [param]}
                params.append(group)
                if not param.requires_grad:
                    continue
                full_name = f'{module_name}.{name}' if module_name else name
                lr_mult = decay_mult = 1.0
                for key in ordered_keys:
                    if key in full_name:
                        lr_mult = custom_keys[key].get('lr_mult', 1.0)
                        decay_mult = custom_keys[key].get('decay_mult', 1.0)
                        break
                if name == 'bias' and not is_norm:
                    lr_mult *= bias_lr_mult
                    decay_mult *= bias_decay_mult
                if is_norm:
                    decay_mult *= norm_decay_mult
                group['lr'] = self.base_lr * lr_mult
                if self.base_wd is not None:
                    group['weight_decay'] = self.base_wd * decay_mult
