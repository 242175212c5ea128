# Copyright (c) mmbas contributors. All rights reserved.
"""Test-only hook: each rank appends the image paths of its training batches
to ``<work_dir>/samples_rank<r>.txt``."""
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RecordSamplesHook(Hook):

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        path = osp.join(runner.work_dir, f'samples_rank{get_rank()}.txt')
        with open(path, 'a') as f:
            for sample in data_batch['data_samples']:
                f.write(sample.metainfo['img_path'] + '\n')
