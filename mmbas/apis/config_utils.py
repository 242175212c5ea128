# Copyright (c) mmbas contributors. All rights reserved.
"""Config handling shared by ``tools/train.py`` and ``tools/test.py``.

The tools stay thin (argument parsing only); what they do to a config lives
here, where it is tested.
"""
import logging
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                work_dir: Optional[str] = None) -> Config:
    """Load ``path``, merge ``--cfg-options`` and set the launcher and work dir
    (CLI > config > ``./work_dirs/<config name>``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file {path} does not exist; pass a path such as '
            'configs/bas/bas_r50_1xb16-10e_voc12aug-448x448.py (relative '
            'to the mmbas checkout)')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def enable_amp(cfg: Config) -> Config:
    """Switch ``cfg.optim_wrapper`` to mixed precision.

    GPUs use mmengine's ``AmpOptimWrapper`` (fp16 autocast, dynamic loss
    scaling); CPU-only machines use mmbas's ``CPUAmpOptimWrapper`` (bf16
    autocast), since mmengine's wrapper refuses to run without a GPU.
    """
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return cfg
    if wrapper != 'OptimWrapper':
        raise ValueError(
            '--amp needs optim_wrapper.type=OptimWrapper in the config, got '
            f'{wrapper}; set the AMP wrapper in the config instead.')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    else:
        cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        print_log(
            'No GPU: --amp uses bfloat16 CPU autocast '
            '(CPUAmpOptimWrapper).',
            logger='current')
    return cfg


def set_resume(cfg: Config, resume: Optional[str]) -> Config:
    """``--resume`` alone resumes from the latest checkpoint of the work dir;
    ``--resume CKPT`` resumes from CKPT."""
    if resume is None:
        cfg.resume = False
    elif resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    else:
        if not osp.isfile(resume):
            raise FileNotFoundError(
                f'--resume checkpoint {resume} does not exist; pass an '
                'existing .pth file, or --resume alone to resume from the '
                'latest checkpoint in the work dir')
        cfg.resume = True
        cfg.load_from = resume
    return cfg


def enable_strict_loading(cfg: Config) -> Config:
    """Load ``cfg.load_from`` strictly: add
    :class:`~mmbas.engine.hooks.StrictCheckpointHook`, which refuses a
    checkpoint with missing / unexpected keys or other shapes (mmengine only
    warns), naming the checkpoint and the keys."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == 'StrictCheckpointHook' for h in hooks):
        hooks.append(dict(type='StrictCheckpointHook'))
    cfg.custom_hooks = hooks
    return cfg


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> Config:
    """Turn on the visualization hook for ``tools/test.py --show/--show-dir``
    (same contract as mmseg's test.py)."""
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise ValueError(
            '--show/--show-dir need a visualization hook in default_hooks, '
            "e.g. visualization=dict(type='SegVisualizationHook')")
    hook = hooks['visualization']
    hook['draw'] = True
    if show:
        hook['show'] = True
        hook['wait_time'] = wait_time
    if show_dir:
        cfg.visualizer['save_dir'] = show_dir
    return cfg


def enable_tta(cfg: Config) -> Config:
    """Wrap the model in the config's ``tta_model`` with ``tta_pipeline``."""
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        raise ValueError('--tta needs tta_model and tta_pipeline in the '
                         'config')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def build_runner(cfg: Config):
    """Build the runner named by ``cfg.runner_type`` (default mmengine's)."""
    from mmengine.runner import Runner
    from mmseg.registry import RUNNERS
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def shutdown_distributed() -> None:
    """Destroy the process group at the end of a distributed run, so that no
    rank exits while the backend's threads still run (gloo then aborts with
    "terminate called without an active exception")."""
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
