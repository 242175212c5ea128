# Copyright (c) mmbas contributors. All rights reserved.
"""Each compatibility fix of ``mmbas.utils.compat``, with a check that the
failure it fixes is real on this stack (the test fails without the fix)."""
import os
import sys

import pytest
import torch
import torch.nn as nn

import mmbas  # noqa: F401
from mmbas.utils import (MissingMMCVOpError, get_installed_path,
                         install_mmcv_ops_standin, is_installed,
                         mmcv_has_compiled_ops, package2module)


# --------------------------------------------------------------- mmcv.ops
@pytest.mark.skipif(mmcv_has_compiled_ops(), reason='compiled mmcv present')
@pytest.mark.slow
def test_mmseg_models_need_the_standin(run_tool):
    without = run_tool.python('import mmseg.models')
    assert without.returncode != 0
    assert "No module named 'mmcv._ext'" in without.stderr
    with_fix = run_tool.python('import mmbas, mmseg.models; print("ok")')
    assert with_fix.returncode == 0, with_fix.stderr
    assert with_fix.stdout.strip().endswith('ok')


@pytest.mark.skipif(mmcv_has_compiled_ops(), reason='compiled mmcv present')
def test_standin_serves_pure_ops_and_guards_compiled_ones():
    import mmcv.ops
    from mmcv.ops import point_sample, sigmoid_focal_loss
    assert callable(point_sample) and not isinstance(point_sample,
                                                     type(mmcv.ops))
    points = torch.tensor([[[0.5, 0.5]]])
    feats = torch.arange(16.).view(1, 1, 4, 4)
    assert point_sample(feats, points).shape == (1, 1, 1)
    with pytest.raises(MissingMMCVOpError, match='sigmoid_focal_loss'):
        sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))
    from mmcv.ops import DeformConv2d
    with pytest.raises(MissingMMCVOpError, match='MMBAS_MMCV=full'):
        DeformConv2d(1, 1, 3)
    # modules that merely mention an op still import
    from mmseg.models.decode_heads import PointHead  # noqa: F401


def test_standin_leaves_compiled_mmcv_alone(monkeypatch):
    import mmbas.utils.mmcv_ops as mmcv_ops
    monkeypatch.delitem(sys.modules, 'mmcv.ops', raising=False)
    monkeypatch.setattr(mmcv_ops, 'mmcv_has_compiled_ops', lambda: True)
    assert install_mmcv_ops_standin() is False
    assert 'mmcv.ops' not in sys.modules


# ------------------------------------------------------------ pkg_resources
@pytest.mark.slow
def test_mmseg_prefixed_configs_without_pkg_resources(run_tool, tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text("_base_ = ['mmseg::_base_/default_runtime.py']\n")
    code = f'''
        import sys
        sys.modules['pkg_resources'] = None  # as with setuptools >= 82
        {{}}
        from mmengine.config import Config
        cfg = Config.fromfile({str(config)!r})
        print(cfg.default_scope)
    '''
    without = run_tool.python(code.format('import mmengine'))
    assert without.returncode != 0
    assert 'pkg_resources' in without.stderr
    with_fix = run_tool.python(code.format('import mmbas'))
    assert with_fix.returncode == 0, with_fix.stderr
    assert with_fix.stdout.strip().endswith('mmseg')


def test_package_utils_match_installed_modules():
    import mmpretrain
    import mmseg
    assert package2module('mmsegmentation') == 'mmseg'
    assert get_installed_path('mmsegmentation') == os.path.dirname(
        mmseg.__file__)
    assert get_installed_path('mmpretrain') == os.path.dirname(
        mmpretrain.__file__)
    assert is_installed('mmsegmentation') and is_installed('mmseg')
    assert not is_installed('surely_not_a_package_mmbas')


# ------------------------------------------------------------- checkpoints
RUNNER_SCRIPT = '''
import sys
{imports}
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


data = [dict(inputs=torch.randn(2)) for _ in range(8)]
loader = dict(dataset=data, batch_size=2,
              sampler=dict(type='DefaultSampler', shuffle=False),
              collate_fn=dict(type='default_collate'))
runner = Runner(
    model=Toy(), work_dir=sys.argv[1], train_dataloader=loader,
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
    train_cfg=dict(by_epoch=False, max_iters=int(sys.argv[2])),
    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                       by_epoch=False)),
    resume=sys.argv[3] == 'resume', load_from=None, randomness=dict(seed=0))
runner.train()
print('ITER', runner.iter)
'''


def _write_script(tmp_path, imports):
    script = tmp_path / f'runner_{len(imports)}.py'
    script.write_text(RUNNER_SCRIPT.format(imports=imports))
    return str(script)


@pytest.mark.slow
def test_resume_under_weights_only_default(run_tool, tmp_path):
    assert torch.__version__ >= '2.6', 'the fix targets torch >= 2.6'
    work = str(tmp_path / 'work')
    with_fix = _write_script(tmp_path, 'import mmbas')
    first = run_tool([with_fix, work, '2', 'new'])
    assert first.returncode == 0, first.stderr
    # without mmbas, mmengine cannot resume its own checkpoint
    plain = _write_script(tmp_path, '')
    failed = run_tool([plain, work, '4', 'resume'])
    assert failed.returncode != 0
    assert 'weights_only' in failed.stderr.replace('Weights only',
                                                   'weights_only')
    resumed = run_tool([with_fix, work, '4', 'resume'])
    assert resumed.returncode == 0, resumed.stderr
    assert 'ITER 4' in resumed.stdout
    log = resumed.stdout + resumed.stderr
    assert 'Loading the user-named checkpoint' in log
    assert 'resumed epoch: 0, iter: 2' in log


def test_unnamed_checkpoints_stay_weights_only(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmbas.utils import trusted_checkpoints

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo pwned', ))

    state = nn.Linear(2, 1).state_dict()
    plain = tmp_path / 'plain.pth'
    torch.save(state, plain)
    loaded = CheckpointLoader.load_checkpoint(str(plain))
    assert torch.equal(loaded['weight'], state['weight'])

    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': state, 'x': Evil()}, evil)
    with pytest.raises(Exception, match='[Ww]eights only'):
        CheckpointLoader.load_checkpoint(str(evil))
    # the same file would unpickle fully only when the user names it
    with trusted_checkpoints():
        meta = {'state_dict': state, 'meta': {'a': 1}}
        torch.save(meta, evil)
        assert CheckpointLoader.load_checkpoint(str(evil))['meta'] == {'a': 1}


def test_missing_checkpoint_message(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    with pytest.raises(FileNotFoundError, match='--resume / load_from'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'nope.pth'))


# ------------------------------------------------------------ distributed
@pytest.mark.slow
def test_cpu_process_group_with_pytorch_launcher(run_tool):
    code = '''
        {}
        import torch.distributed as dist
        from mmengine.dist import init_dist
        init_dist('pytorch', backend='nccl')
        print(dist.get_backend(), dist.get_world_size())
        dist.destroy_process_group()
    '''
    env = dict(
        RANK='0',
        LOCAL_RANK='0',
        WORLD_SIZE='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT='29631',
        CUDA_VISIBLE_DEVICES='')
    without = run_tool.python(code.format('import mmengine'), **env)
    assert without.returncode != 0
    with_fix = run_tool.python(code.format('import mmbas'), **env)
    assert with_fix.returncode == 0, with_fix.stderr
    assert with_fix.stdout.split()[-2:] == ['gloo', '1']


def test_cpu_amp_wrapper_autocasts_to_bf16():
    from mmengine.optim import build_optim_wrapper
    model = nn.Linear(4, 2)
    wrapper = build_optim_wrapper(
        model,
        dict(type='CPUAmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1)))
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
