# Copyright (c) mmbas contributors. All rights reserved.
"""Stop before the first step when the model and the data disagree on the
number of classes."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Give the model each dataset's metainfo before training, validation and
    testing; a model with a ``dataset_meta`` setter (the BAS / CAM models)
    checks its class count there and raises a ``ValueError`` naming
    ``model.head.num_classes`` on a mismatch, instead of failing (or silently
    mis-training) later.

    A leading ``'background'`` class of VOC / COCO metainfo is not counted.
    Part of ``configs/_base_/default_runtime.py``.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _check(runner, loader_name: str) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(type(model), 'dataset_meta'):
            return
        loader = getattr(runner, loader_name, None)
        dataset = getattr(loader, 'dataset', None)
        meta = getattr(dataset, 'metainfo', None)
        if meta is not None:
            model.dataset_meta = meta

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader')

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader')
