# Copyright (c) mmbas contributors. All rights reserved.
"""The whole WSSS pipeline in one command (logic of
``tools/run_pipeline.py``).

Stages, each in its own folder under ``--work-dir DIR``:

1. ``stage1``: train the BAS classification model (``tools/train.py``).
   Complete when ``last_checkpoint`` names the final checkpoint
   (``iter_<max_iters>.pth`` / ``epoch_<max_epochs>.pth``) and it exists.
2. ``seeds``: multi-scale seed evaluation with the background-threshold
   sweep (``tools/test.py`` on the seed config); the best threshold is read
   from the metrics json the tool dumps. Complete when
   ``seeds/seed_metrics.json`` exists.
3. ``pseudo``: export of the pseudo masks of the stage-1 train list with
   ``--bg-threshold BEST`` (``tools/export_pseudo_labels.py``). Complete
   when ``pseudo/export_summary.json`` reports no failure, every image of
   the list has its mask and ``pseudo/pipeline_export.json`` records the
   same checkpoint and threshold.
4. ``stage3``: the pseudo masks are checked (:mod:`mmbas.pseudo.checks`),
   the segmentation model is trained on them (``tools/train.py``, the
   config's ``seg_map_path`` pointed at ``DIR/pseudo``) and evaluated on
   val (``tools/test.py``). Complete when the final checkpoint and
   ``stage3/val_metrics.json`` exist.

A complete stage is skipped, so rerunning the same command after a crash
resumes at the first incomplete stage; inside stages 1 and 3 ``--resume``
lets mmengine continue from the last checkpoint, and the export skips the
masks already written. When a stage runs again, the outputs of the later
stages are stale: they are moved aside to ``<name>.stale-<time>``.
The final summary (seed mIoU, best threshold, val mIoU, time per stage) is
printed and saved as ``DIR/summary.json``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

__all__ = [
    'PipelineError', 'DEFAULT_CONFIGS', 'STAGES', 'final_checkpoint',
    'read_test_metrics', 'format_summary', 'run_pipeline', 'parse_args',
    'main'
]

#: repository root (tools/ and configs/ live there)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

STAGES = ('stage1', 'seeds', 'pseudo', 'stage3')

DEFAULT_CONFIGS = {
    'voc':
    dict(
        stage1='configs/bas/voc_r50.py',
        seeds='configs/bas/voc_r50_seed.py',
        stage3='configs/deeplab/deeplabv2_r101_voc12aug-pseudo-321x321.py'),
    'coco':
    dict(
        stage1='configs/bas/coco_r50.py',
        seeds='configs/bas/coco_r50_seed.py',
        stage3='configs/deeplab/deeplabv2_r101_coco14-pseudo-321x321.py'),
}


class PipelineError(RuntimeError):
    """A user-facing pipeline error (one message, no traceback)."""


def log(msg: str) -> None:
    print(f'[pipeline] {msg}', flush=True)


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _resolve_config(path: str) -> str:
    if osp.isfile(path):
        return osp.abspath(path)
    in_root = osp.join(ROOT, path)
    if osp.isfile(in_root):
        return in_root
    raise PipelineError(f'config file {path} does not exist')


def _load_cfg(path: str, options: Optional[Dict]):
    from mmbas.apis.config_utils import load_config
    return load_config(path, options or None)


def _options_to_args(options: Optional[Dict]) -> List[str]:
    """``--cfg-options`` dict back to ``k=v`` strings (values as repr-like
    text mmengine's DictAction parses back)."""
    if not options:
        return []
    out = []
    for key, value in options.items():
        out.append(f'{key}={_option_text(value)}')
    return ['--cfg-options'] + out


def _option_text(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = ','.join(_option_text(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return str(value)


def final_checkpoint(work_dir: str, cfg) -> Optional[str]:
    """Path of the final checkpoint of a training run when ``work_dir``'s
    ``last_checkpoint`` names it and it exists, else None."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    if not path:
        return None
    if not osp.isabs(path):
        path = osp.join(work_dir, path)
    if not osp.isfile(path):
        return None
    train_cfg = cfg.get('train_cfg', {}) or {}
    m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
    if m is None:
        return None
    kind, num = m.group(1), int(m.group(2))
    if kind == 'iter' and 'max_iters' in train_cfg:
        return path if num == int(train_cfg['max_iters']) else None
    if kind == 'epoch' and 'max_epochs' in train_cfg:
        return path if num == int(train_cfg['max_epochs']) else None
    return None


def _has_checkpoint(work_dir: str) -> bool:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return False
    with open(marker) as f:
        path = f.read().strip()
    return bool(path) and osp.isfile(path if osp.isabs(path) else osp.join(
        work_dir, path))


def read_test_metrics(work_dir: str, since: float = 0.0) -> Dict:
    """Metrics of the latest ``tools/test.py --work-dir work_dir`` run: the
    ``<timestamp>/<timestamp>.json`` mmengine's LoggerHook dumps."""
    files = [
        f for f in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(f)[:-5] == osp.basename(osp.dirname(f))
        and osp.getmtime(f) >= since
    ]
    if not files:
        raise PipelineError(f'tools/test.py wrote no metrics json under '
                            f'{work_dir}')
    with open(max(files, key=osp.getmtime)) as f:
        return json.load(f)


def _write_json(path: str, data: Dict) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _read_json(path: str) -> Optional[Dict]:
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _move_aside(path: str) -> None:
    if osp.exists(path):
        dst = f'{path}.stale-{time.strftime("%Y%m%d_%H%M%S")}'
        os.replace(path, dst)
        log(f'{osp.basename(path)}: outputs are stale (an earlier stage ran '
            f'again), moved to {dst}')


# ----------------------------------------------------------------------------
# the pipeline
# ----------------------------------------------------------------------------
class Pipeline:
    """Runs the four stages; see the module doc. ``args`` are the parsed
    command-line arguments (:func:`parse_args`)."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work_dir = osp.abspath(args.work_dir)
        defaults = DEFAULT_CONFIGS[args.dataset]
        self.configs = dict(
            stage1=_resolve_config(args.stage1_config or defaults['stage1']),
            seeds=_resolve_config(args.seed_config or defaults['seeds']),
            stage3=_resolve_config(args.stage3_config or defaults['stage3']))
        self.opts = dict(
            stage1=args.cfg_options_stage1 or {},
            seeds=args.cfg_options_seeds or {},
            stage3=args.cfg_options_stage3 or {})
        self.dirs = {s: osp.join(self.work_dir, s) for s in STAGES}
        self.summary_path = osp.join(self.work_dir, 'summary.json')
        self.previous = _read_json(self.summary_path) or {}
        self.results: Dict[str, Dict] = {}
        self.upstream_ran = False

    # -- subprocesses ---------------------------------------------------
    def _command(self, tool: str, args: List[str]) -> List[str]:
        script = osp.join(ROOT, 'tools', tool)
        if self.args.launcher == 'none':
            return [sys.executable, script] + args
        if self.args.launcher == 'pytorch':
            return [
                sys.executable, '-m', 'torch.distributed.run',
                f'--nproc_per_node={self.args.gpus}',
                f'--master_port={self.args.port}', script
            ] + args + ['--launcher', 'pytorch']
        # slurm / mpi: the job step already started one process per rank
        return [sys.executable, script] + args + [
            '--launcher', self.args.launcher
        ]

    def _run(self, stage: str, tool: str, args: List[str]) -> None:
        cmd = self._command(tool, args)
        log(f'{stage}: ' + ' '.join(shlex.quote(c) for c in cmd))
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        proc = subprocess.run(cmd, cwd=ROOT, env=env)
        if proc.returncode != 0:
            raise PipelineError(
                f'{stage} failed ({tool} exited with {proc.returncode}); fix '
                'the error above and rerun the same command: finished stages '
                'are skipped and this one resumes')

    def _record(self, stage: str, status: str, start: float,
                **extra) -> Dict:
        res = dict(status=status, time_s=round(time.time() - start, 1),
                   **extra)
        if status == 'skipped':
            prev = self.previous.get('stages', {}).get(stage, {})
            res['time_s'] = 0.0
            res['previous_time_s'] = prev.get('previous_time_s',
                                              prev.get('time_s'))
            if prev.get('status') not in (None, 'skipped'):
                res['previous_time_s'] = prev.get('time_s')
        self.results[stage] = res
        why = extra.get('reason', '')
        log(f'{stage}: {status}' + (f' ({why})' if why else '') +
            (f' in {res["time_s"]:.1f} s' if status != 'skipped' else ''))
        self._save_summary()
        return res

    # -- stage 1 -------------------------------------------------------
    def stage1(self) -> str:
        start = time.time()
        work = self.dirs['stage1']
        cfg = _load_cfg(self.configs['stage1'], self.opts['stage1'])
        ckpt = final_checkpoint(work, cfg)
        if ckpt is not None:
            self._record('stage1', 'skipped', start, checkpoint=ckpt,
                         reason=f'final checkpoint {osp.basename(ckpt)} '
                         'exists')
            return ckpt
        args = [self.configs['stage1'], '--work-dir', work]
        if _has_checkpoint(work):
            args.append('--resume')
        self._run('stage1', 'train.py',
                  args + _options_to_args(self.opts['stage1']))
        ckpt = final_checkpoint(work, cfg)
        if ckpt is None:
            raise PipelineError(f'stage1 finished but {work}/last_checkpoint '
                                'does not name the final checkpoint')
        self.upstream_ran = True
        self._record('stage1', 'done', start, checkpoint=ckpt)
        return ckpt

    # -- seeds ---------------------------------------------------------
    def seeds(self, ckpt: str) -> Dict:
        start = time.time()
        work = self.dirs['seeds']
        out = osp.join(work, 'seed_metrics.json')
        if self.upstream_ran:
            _move_aside(work)
        done = _read_json(out)
        if done is not None and done.get('checkpoint') == ckpt:
            self._record('seeds', 'skipped', start, reason='seed metrics '
                         'exist', seed_mIoU=done.get('seed_mIoU'),
                         best_threshold=done.get('best_threshold'))
            return done
        os.makedirs(work, exist_ok=True)
        t0 = time.time() - 1
        self._run('seeds', 'test.py',
                  [self.configs['seeds'], ckpt, '--work-dir', work] +
                  _options_to_args(self.opts['seeds']))
        metrics = read_test_metrics(work, since=t0)
        if self.args.bg_threshold is not None:
            best = float(self.args.bg_threshold)
            seed_miou = metrics.get(f'sweep/mIoU@{best:.2f}',
                                    metrics.get('mIoU'))
        else:
            if 'sweep/best_threshold' not in metrics:
                raise PipelineError(
                    'the seed config reports no sweep/best_threshold: add '
                    "dict(type='SeedSweepMetric', prefix='sweep') to its "
                    'test_evaluator (see configs/bas/voc_r50_seed.py) or '
                    'pass --bg-threshold')
            best = float(metrics['sweep/best_threshold'])
            seed_miou = metrics.get('sweep/mIoU')
        done = dict(checkpoint=ckpt, best_threshold=best,
                    seed_mIoU=seed_miou, metrics=metrics)
        _write_json(out, done)
        self.upstream_ran = True
        self._record('seeds', 'done', start, seed_mIoU=seed_miou,
                     best_threshold=best)
        return done

    # -- export --------------------------------------------------------
    def _export_config(self) -> str:
        """The seed config (with its options) whose ``export_dataloader``
        is the stage-1 train set, dumped to ``DIR/pseudo_export_config.py``
        (the export tool reads it without further options)."""
        import copy
        cfg = _load_cfg(self.configs['seeds'], self.opts['seeds'])
        if 'export_dataloader' not in cfg:
            cfg.export_dataloader = dict(
                dataset=copy.deepcopy(cfg.train_dataloader.dataset))
        path = osp.join(self.work_dir, 'pseudo_export_config.py')
        cfg.dump(path)
        return path

    def _export_names(self, config: str) -> List[str]:
        import mmbas  # noqa: F401
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        from mmbas.pseudo.export import build_export_dataset
        cfg = Config.fromfile(config)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        return [it[0] for it in build_export_dataset(cfg)[1]]

    def export(self, ckpt: str, threshold: float) -> str:
        start = time.time()
        work = self.dirs['pseudo']
        record_path = osp.join(self.work_dir, 'pseudo_export.json')
        if self.upstream_ran:
            _move_aside(work)
        config = self._export_config()
        names = self._export_names(config)
        summary = _read_json(osp.join(work, 'export_summary.json'))
        record = _read_json(record_path)
        same = record is not None and record.get(
            'checkpoint') == ckpt and record.get('bg_threshold') == threshold
        if summary is not None and same and not summary.get('failed') and all(
                osp.isfile(osp.join(work, f'{n}.png')) for n in names):
            self._record('pseudo', 'skipped', start, num_masks=len(names),
                         reason='export_summary.json covers the '
                         f'{len(names)} images')
            return work
        if osp.isdir(work) and not same and record is not None:
            _move_aside(work)  # masks of another checkpoint / threshold
        _write_json(record_path, dict(checkpoint=ckpt, bg_threshold=threshold))
        extra = shlex.split(self.args.export_args or '')
        self._run('pseudo', 'export_pseudo_labels.py',
                  [config, ckpt, '--out', work, '--bg-threshold',
                   repr(float(threshold)), '--no-progress'] + extra)
        self.upstream_ran = True
        self._record('pseudo', 'done', start, num_masks=len(names))
        return work

    # -- stage 3 -------------------------------------------------------
    def stage3(self, pseudo_dir: str) -> Dict:
        start = time.time()
        work = self.dirs['stage3']
        metrics_path = osp.join(work, 'val_metrics.json')
        if self.upstream_ran:
            _move_aside(work)
        opts = {
            'train_dataloader.dataset.data_prefix.seg_map_path': pseudo_dir
        }
        opts.update(self.opts['stage3'])
        cfg = _load_cfg(self.configs['stage3'], opts)
        ckpt = final_checkpoint(work, cfg)
        done = _read_json(metrics_path)
        if ckpt is not None and done is not None and done.get(
                'checkpoint') == ckpt:
            self._record('stage3', 'skipped', start, checkpoint=ckpt,
                         val_mIoU=done.get('mIoU'),
                         reason='final checkpoint and val metrics exist')
            return done
        if ckpt is None:
            from mmbas.pseudo.checks import PseudoMaskError, \
                check_pseudo_masks
            try:
                report = check_pseudo_masks(cfg)
            except PseudoMaskError as err:
                raise PipelineError(f'stage3: {err}') from None
            log(f"stage3: pseudo-mask check ok ({report['num_images']} "
                f"masks, max label {report['max_label']})")
            args = [self.configs['stage3'], '--work-dir', work]
            if _has_checkpoint(work):
                args.append('--resume')
            self._run('stage3', 'train.py', args + _options_to_args(opts))
            ckpt = final_checkpoint(work, cfg)
            if ckpt is None:
                raise PipelineError(f'stage3 finished but {work}/'
                                    'last_checkpoint does not name the '
                                    'final checkpoint')
        val_dir = osp.join(work, 'val')
        t0 = time.time() - 1
        self._run('stage3', 'test.py',
                  [self.configs['stage3'], ckpt, '--work-dir', val_dir] +
                  _options_to_args(opts))
        metrics = read_test_metrics(val_dir, since=t0)
        done = dict(checkpoint=ckpt, mIoU=metrics.get('mIoU'),
                    metrics=metrics)
        _write_json(metrics_path, done)
        self._record('stage3', 'done', start, checkpoint=ckpt,
                     val_mIoU=done['mIoU'])
        return done

    # -- summary -------------------------------------------------------
    def _save_summary(self) -> Dict:
        summary = dict(
            dataset=self.args.dataset,
            work_dir=self.work_dir,
            configs=self.configs,
            stages=self.results)
        seeds = self.results.get('seeds', {})
        summary['seed_mIoU'] = seeds.get('seed_mIoU')
        summary['best_threshold'] = seeds.get('best_threshold')
        summary['val_mIoU'] = self.results.get('stage3', {}).get('val_mIoU')
        os.makedirs(self.work_dir, exist_ok=True)
        _write_json(self.summary_path, summary)
        return summary

    def run(self) -> Dict:
        os.makedirs(self.work_dir, exist_ok=True)
        ckpt = self.stage1()
        seeds = self.seeds(ckpt)
        pseudo = self.export(ckpt, seeds['best_threshold'])
        self.stage3(pseudo)
        summary = self._save_summary()
        print(format_summary(summary), flush=True)
        return summary


def format_summary(summary: Dict) -> str:
    """The final table of :meth:`Pipeline.run`."""

    def num(v, fmt='{:.2f}'):
        return '-' if v is None else fmt.format(v)

    lines = [f"BAS pipeline summary ({summary['dataset']}, "
             f"{summary['work_dir']})",
             f"  {'stage':<8} {'status':<8} {'time (s)':>9}  note"]
    notes = dict(
        stage1=lambda r: osp.basename(r.get('checkpoint', '')),
        seeds=lambda r: f"seed mIoU {num(r.get('seed_mIoU'))} at bg "
        f"threshold {num(r.get('best_threshold'), '{:g}')}",
        pseudo=lambda r: f"{r.get('num_masks', '-')} masks",
        stage3=lambda r: f"val mIoU {num(r.get('val_mIoU'))}")
    for stage in STAGES:
        r = summary['stages'].get(stage)
        if r is None:
            continue
        t = num(r['time_s'], '{:.1f}')
        if r['status'] == 'skipped' and r.get('previous_time_s') is not None:
            t = f"({r['previous_time_s']:.1f})"
        lines.append(f"  {stage:<8} {r['status']:<8} {t:>9}  "
                     f'{notes[stage](r)}')
    lines += [
        f"  seed mIoU      {num(summary.get('seed_mIoU'))}",
        f"  best threshold {num(summary.get('best_threshold'), '{:g}')}",
        f"  val mIoU       {num(summary.get('val_mIoU'))}",
        f"  (saved to {osp.join(summary['work_dir'], 'summary.json')}; times "
        'in parentheses: earlier run of a skipped stage)'
    ]
    return '\n'.join(lines)


def run_pipeline(args: argparse.Namespace) -> Dict:
    """Run (or resume) the pipeline; return the summary dict."""
    return Pipeline(args).run()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Arguments of ``tools/run_pipeline.py``."""
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        prog='tools/run_pipeline.py',
        description='BAS WSSS, all stages: stage-1 training -> seed '
        'evaluation (threshold sweep) -> pseudo-mask export -> '
        'segmentation training and val mIoU. Rerun the same command to '
        'resume after a crash.')
    p.add_argument('--dataset', choices=sorted(DEFAULT_CONFIGS),
                   required=True)
    p.add_argument('--work-dir', required=True,
                   help='DIR: stage1/, seeds/, pseudo/, stage3/, '
                   'summary.json')
    p.add_argument('--stage1-config', help='BAS training config (default '
                   'configs/bas/<dataset>_r50.py)')
    p.add_argument('--seed-config', help='seed evaluation/export config '
                   '(default configs/bas/<dataset>_r50_seed.py)')
    p.add_argument('--stage3-config', help='segmentation config (default '
                   'the DeepLabV2 pseudo config of the dataset)')
    for stage in ('stage1', 'seeds', 'stage3'):
        p.add_argument(f'--cfg-options-{stage}', nargs='+',
                       action=DictAction, metavar='KEY=VALUE',
                       help=f'--cfg-options of the {stage} config')
    p.add_argument('--bg-threshold', type=float, default=None,
                   help='export with this background threshold instead of '
                   'the best one of the sweep')
    p.add_argument('--export-args', default='',
                   help='extra arguments of tools/export_pseudo_labels.py, '
                   'one string, e.g. "--scales 1.0 0.5 --num-workers 4"')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none',
                   help='pytorch: every tool runs under torch.distributed.'
                   'run with --gpus processes; slurm/mpi: run this script '
                   'in the job step, the tools get --launcher')
    p.add_argument('--gpus', type=int, default=1,
                   help='processes per node with --launcher pytorch')
    p.add_argument('--port', type=int,
                   default=int(os.environ.get('PORT', 29500)))
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; 0 on success, 1 when a stage failed (message printed)."""
    args = parse_args(argv)
    try:
        run_pipeline(args)
    except PipelineError as err:
        print(f'run_pipeline.py: error: {err}', file=sys.stderr, flush=True)
        return 1
    return 0
