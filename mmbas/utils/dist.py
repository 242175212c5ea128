# Copyright (c) mmbas contributors. All rights reserved.
"""Distributed training on CPU-only machines.

mmengine 0.10.7 assumes a GPU per process under ``--launcher pytorch``:
``_init_dist_pytorch`` calls ``torch.cuda.set_device`` and the runner builds
``MMDistributedDataParallel`` with ``device_ids=[LOCAL_RANK]``. On a machine
without CUDA both fail. :func:`patch_cpu_distributed` keeps mmengine's
behaviour untouched when CUDA is available (NCCL, one GPU per process) and
otherwise initialises the process group with the gloo backend and builds DDP
without ``device_ids``.
"""
import functools
import os

import torch
import torch.distributed as torch_dist


def cpu_backend(backend: str) -> str:
    """The backend to use without CUDA: NCCL needs GPUs, so gloo."""
    return 'gloo' if backend in (None, 'nccl') else backend


def patch_cpu_distributed() -> None:
    """Make ``--launcher pytorch`` work without CUDA (idempotent)."""
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel

    original_init = dist_utils._init_dist_pytorch
    if not getattr(original_init, '__mmbas_patched__', False):

        @functools.wraps(original_init)
        def _init_dist_pytorch(backend='nccl', init_backend='torch', **kw):
            if torch.cuda.is_available():
                return original_init(backend, init_backend=init_backend, **kw)
            if init_backend != 'torch':
                raise RuntimeError(
                    f'init_backend={init_backend!r} needs CUDA; use the '
                    "default 'torch' init_backend on CPU-only machines.")
            torch_dist.init_process_group(
                backend=cpu_backend(backend),
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **kw)

        _init_dist_pytorch.__mmbas_patched__ = True
        dist_utils._init_dist_pytorch = _init_dist_pytorch

    original_ddp_init = MMDistributedDataParallel.__init__
    if not getattr(original_ddp_init, '__mmbas_patched__', False):

        @functools.wraps(original_ddp_init)
        def __init__(self, module, detect_anomalous_params=False, **kwargs):
            if not torch.cuda.is_available():
                kwargs.pop('device_ids', None)
                kwargs.pop('output_device', None)
            original_ddp_init(
                self,
                module,
                detect_anomalous_params=detect_anomalous_params,
                **kwargs)

        __init__.__mmbas_patched__ = True
        MMDistributedDataParallel.__init__ = __init__
