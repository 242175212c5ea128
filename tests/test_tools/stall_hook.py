# Copyright (c) mmbas contributors. All rights reserved.
"""Test-only hook: once the checkpoint of iteration ``$MMBAS_STALL_AT_ITER``
is written, write ``<work_dir>/stalled`` and sleep until killed (the test
sends SIGKILL). Without the variable it does nothing."""
import os
import os.path as osp
import time

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class StallAfterCheckpointHook(Hook):

    # after CheckpointHook (VERY_LOW), which saves in after_train_iter
    priority = 'LOWEST'

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        at = os.environ.get('MMBAS_STALL_AT_ITER')
        if at is None or runner.iter + 1 != int(at):
            return
        with open(osp.join(runner.work_dir, 'stalled'), 'w') as f:
            f.write(str(runner.iter + 1))
        while True:
            time.sleep(1)
