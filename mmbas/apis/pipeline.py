# Copyright (c) mmbas contributors. All rights reserved.
"""The whole WSSS pipeline in one call (``tools/run_pipeline.py`` is its
command line).

Stages, each in its own folder under ``work_dir``, each run through a
:class:`~mmbas.apis.stages.StageRunner` that records in the folder a
fingerprint of what produced it (config path and content hash of the
resolved config, ``--cfg-options`` tokens verbatim, tool arguments, the
checkpoint's content hash, the upstream stage's fingerprint; see
:mod:`mmbas.apis.stages`):

1. ``stage1``: train the BAS classification model (``tools/train.py``).
   Complete when ``last_checkpoint`` names the final checkpoint
   (``iter_<max_iters>.pth`` / ``epoch_<max_epochs>.pth``) and it exists.
2. ``seeds``: seed evaluation with the background-threshold sweep
   (``tools/test.py`` on the seed config, whose model is the
   ``SeedInferencer``: scales, flip, CAM fusion, CRF); the best threshold
   is read from the metrics json the tool dumps. Complete when
   ``seeds/seed_metrics.json`` exists.
3. ``pseudo``: export of the pseudo masks of the stage-1 train set
   (``tools/export_pseudo_labels.py``) through the same seed config and
   ``--cfg-options``, plus ``model.bg_threshold=<best>``: the exported masks
   are the label maps of the maps the threshold was chosen on. A seed
   config without ``export_dataloader`` is resolved (its options merged),
   given ``export_dataloader.dataset`` = its ``train_dataloader.dataset``
   and dumped to ``work_dir/pseudo_export_config.py``, which the export
   reads. Complete when ``pseudo/export_summary.json`` reports no failure
   and every image has its mask.
4. ``stage3``: the pseudo masks are checked
   (:func:`mmbas.pseudo.checks.check_pseudo_masks`), the segmentation model
   is trained on them (``tools/train.py``, the config's ``seg_map_path``
   pointed at ``work_dir/pseudo``) and evaluated on val (``tools/test.py``).
   Complete when the final checkpoint and ``stage3/val_metrics.json``
   exist.

Rerunning the same call skips the complete stages whose fingerprint is
unchanged and resumes the first incomplete one (``--resume`` for the
trainings, finished masks are skipped by the export). A stage whose
fingerprint changed (another config value, option, export argument, or a
rerun upstream stage) has its folder moved aside to
``<name>.stale-<time>`` and runs again, and so do the later stages. The
final summary (seed mIoU, threshold, val mIoU, time per stage) is printed
and saved as ``work_dir/summary.json``.
"""
import glob
import json
import os
import os.path as osp
import re
import time
from typing import Dict, List, Mapping, Optional, Sequence

from .stages import (ROOT, StageError, StageRunner, load_stage_config,
                     make_fingerprint, parse_cfg_options, read_json,
                     write_json)

__all__ = [
    'PipelineError', 'DEFAULT_CONFIGS', 'STAGES', 'Pipeline',
    'final_checkpoint', 'read_test_metrics', 'format_summary', 'run_pipeline'
]

STAGES = ('stage1', 'seeds', 'pseudo', 'stage3')

#: stages whose config takes ``--cfg-options`` (the export reuses seeds')
OPTION_STAGES = ('stage1', 'seeds', 'stage3')

DEFAULT_CONFIGS = {
    'voc':
    dict(
        stage1='configs/bas/bas_r50_1xb16-10e_voc12aug-448x448.py',
        seeds='configs/bas/bas_r50_seed-ms-flip_voc12-train.py',
        stage3='configs/deeplab/'
        'deeplabv2_r101_1xb10-20k_voc12aug-pseudo-321x321.py'),
    'coco':
    dict(
        stage1='configs/bas/bas_r50_1xb16-10e_coco14-448x448.py',
        seeds='configs/bas/bas_r50_seed-ms-flip_coco14-val.py',
        stage3='configs/deeplab/'
        'deeplabv2_r101_1xb10-20k_coco14-pseudo-321x321.py'),
}

#: the export config derived from a seed config without export_dataloader
EXPORT_CONFIG = 'pseudo_export_config.py'


class PipelineError(StageError):
    """A user-facing pipeline error (one message, no traceback)."""


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


def _with_options(tokens: Sequence[str]) -> List[str]:
    """``['--cfg-options', *tokens]``, or nothing for no tokens."""
    return ['--cfg-options'] + list(tokens) if tokens else []


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


# ----------------------------------------------------------------------------
# the pipeline
# ----------------------------------------------------------------------------
class Pipeline:
    """Runs the four stages; see the module doc.

    Args:
        work_dir (str): folder of the stage folders and ``summary.json``.
        dataset (str): ``voc`` or ``coco``: picks the default configs.
        stage1_config (str, optional): BAS training config (default
            ``DEFAULT_CONFIGS[dataset]['stage1']``, e.g.
            ``configs/bas/bas_r50_1xb16-10e_voc12aug-448x448.py``).
        seed_config (str, optional): seed evaluation and export config
            (default ``DEFAULT_CONFIGS[dataset]['seeds']``, e.g.
            ``configs/bas/bas_r50_seed-ms-flip_voc12-train.py``).
        stage3_config (str, optional): segmentation config (default the
            DeepLabV2 pseudo-mask config of the dataset).
        cfg_options (Mapping[str, Sequence[str]], optional): stage
            (``stage1`` / ``seeds`` / ``stage3``) -> ``--cfg-options``
            tokens, passed to the tools verbatim (the export gets the
            seeds' ones).
        bg_threshold (float, optional): export at this background
            threshold instead of the best one of the sweep.
        export_args (Sequence[str]): extra arguments of
            ``tools/export_pseudo_labels.py`` (e.g. ``--num-workers 8``).
        runner (StageRunner, optional): runs the tools (launcher, GPUs);
            default a single-process :class:`StageRunner`.
    """

    def __init__(self,
                 work_dir: str,
                 dataset: str = 'voc',
                 stage1_config: Optional[str] = None,
                 seed_config: Optional[str] = None,
                 stage3_config: Optional[str] = None,
                 cfg_options: Optional[Mapping[str, Sequence[str]]] = None,
                 bg_threshold: Optional[float] = None,
                 export_args: Sequence[str] = (),
                 runner: Optional[StageRunner] = None):
        if dataset not in DEFAULT_CONFIGS:
            raise PipelineError(f'dataset {dataset!r} is not one of '
                                f'{sorted(DEFAULT_CONFIGS)}')
        unknown = set(cfg_options or {}) - set(OPTION_STAGES)
        if unknown:
            raise PipelineError(f'cfg_options for {sorted(unknown)}: only '
                                f'{", ".join(OPTION_STAGES)} take options')
        self.dataset = dataset
        self.work_dir = osp.abspath(work_dir)
        defaults = DEFAULT_CONFIGS[dataset]
        self.configs = dict(
            stage1=_resolve_config(stage1_config or defaults['stage1']),
            seeds=_resolve_config(seed_config or defaults['seeds']),
            stage3=_resolve_config(stage3_config or defaults['stage3']))
        self.opts = {
            s: [str(t) for t in (cfg_options or {}).get(s) or ()]
            for s in OPTION_STAGES
        }
        for stage, tokens in self.opts.items():  # fail before any stage
            parse_cfg_options(tokens, f'--cfg-options-{stage}')
        self.bg_threshold = bg_threshold
        self.export_args = [str(a) for a in export_args]
        self.runner = runner or StageRunner()
        self.dirs = {s: osp.join(self.work_dir, s) for s in STAGES}
        self.summary_path = osp.join(self.work_dir, 'summary.json')
        self.previous = read_json(self.summary_path) or {}
        self.results: Dict[str, Dict] = {}
        #: stage -> fingerprint of this run
        self.fingerprints: Dict[str, Dict] = {}

    def log(self, msg: str) -> None:
        self.runner.log(msg)

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
        self.log(f'{stage}: {status}' + (f' ({why})' if why else '') +
                 (f' in {res["time_s"]:.1f} s' if status != 'skipped'
                  else ''))
        self._save_summary()
        return res

    def _enter(self, stage: str, fingerprint: Dict) -> None:
        self.fingerprints[stage] = fingerprint
        self.runner.enter(stage, self.dirs[stage], fingerprint)

    # -- stage 1 -------------------------------------------------------
    def stage1(self) -> str:
        """Train (or resume, or skip) stage 1; return its final
        checkpoint."""
        start = time.time()
        work, config, opts = (self.dirs['stage1'], self.configs['stage1'],
                              self.opts['stage1'])
        cfg = load_stage_config(config, opts)
        self._enter('stage1', make_fingerprint(config, cfg, opts,
                                               ['train.py']))
        ckpt = final_checkpoint(work, cfg)
        if ckpt is not None:
            self._record('stage1', 'skipped', start, checkpoint=ckpt,
                         reason=f'final checkpoint {osp.basename(ckpt)} '
                         'exists')
            return ckpt
        args = [config, '--work-dir', work]
        if _has_checkpoint(work):
            args.append('--resume')
        self.runner.run_tool('stage1', 'train.py',
                             args + _with_options(opts))
        ckpt = final_checkpoint(work, cfg)
        if ckpt is None:
            raise PipelineError(f'stage1 finished but {work}/last_checkpoint '
                                'does not name the final checkpoint')
        self._record('stage1', 'done', start, checkpoint=ckpt)
        return ckpt

    # -- seeds ---------------------------------------------------------
    def _choose_threshold(self, metrics: Mapping) -> Dict:
        """Export threshold and the seed mIoU there: ``bg_threshold`` when
        given, else the best one of the sweep."""
        if self.bg_threshold is not None:
            best = float(self.bg_threshold)
            return dict(best_threshold=best,
                        seed_mIoU=metrics.get(f'sweep/mIoU@{best:.2f}',
                                              metrics.get('mIoU')))
        if 'sweep/best_threshold' not in metrics:
            raise PipelineError(
                'the seed config reports no sweep/best_threshold: add '
                "dict(type='SeedSweepMetric', prefix='sweep') to its "
                'test_evaluator (see '
                'configs/bas/bas_r50_seed-ms-flip_voc12-train.py) or '
                'pass --bg-threshold')
        return dict(best_threshold=float(metrics['sweep/best_threshold']),
                    seed_mIoU=metrics.get('sweep/mIoU'))

    def seeds(self, ckpt: str) -> Dict:
        """Seed evaluation of ``ckpt`` (or its saved result); return
        ``best_threshold`` (the export threshold), ``seed_mIoU`` and the
        ``metrics`` of ``tools/test.py``."""
        start = time.time()
        work, config, opts = (self.dirs['seeds'], self.configs['seeds'],
                              self.opts['seeds'])
        out = osp.join(work, 'seed_metrics.json')
        cfg = load_stage_config(config, opts)
        self._enter(
            'seeds',
            make_fingerprint(config, cfg, opts, ['test.py', ckpt],
                             inputs=dict(checkpoint=ckpt),
                             upstream=self.fingerprints.get('stage1')))
        done = read_json(out)
        status = 'skipped'
        if done is None or 'metrics' not in done:
            status = 'done'
            t0 = time.time() - 1
            self.runner.run_tool(
                'seeds', 'test.py',
                [config, ckpt, '--work-dir', work] + _with_options(opts))
            metrics = read_test_metrics(work, since=t0)
            self._choose_threshold(metrics)  # fails without a sweep
            # the sweep's result; the export threshold is chosen below
            done = dict(checkpoint=ckpt,
                        best_threshold=metrics.get('sweep/best_threshold'),
                        seed_mIoU=metrics.get('sweep/mIoU'),
                        metrics=metrics)
            write_json(out, done)
        res = dict(done, **self._choose_threshold(done['metrics']))
        self._record('seeds', status, start, seed_mIoU=res['seed_mIoU'],
                     best_threshold=res['best_threshold'],
                     **(dict(reason='seed metrics exist')
                        if status == 'skipped' else {}))
        return res

    # -- export --------------------------------------------------------
    def export_config(self) -> str:
        """The config the export reads: the seed config when it has an
        ``export_dataloader``; else the resolved seed config (its options
        merged) with ``export_dataloader.dataset`` = its
        ``train_dataloader.dataset`` (the stage-1 train set), dumped to
        ``work_dir/pseudo_export_config.py``."""
        import copy
        config = self.configs['seeds']
        cfg = load_stage_config(config, self.opts['seeds'])
        if 'export_dataloader' in cfg:
            return config
        if 'train_dataloader' not in cfg:
            raise PipelineError(
                f'the seed config {config} has neither export_dataloader '
                'nor train_dataloader: add export_dataloader = '
                'dict(dataset=...) with the images to export (the stage-1 '
                'train set)')
        cfg.export_dataloader = dict(
            dataset=copy.deepcopy(cfg.train_dataloader.dataset))
        path = osp.join(self.work_dir, EXPORT_CONFIG)
        tmp = osp.join(self.work_dir, f'.{EXPORT_CONFIG[:-3]}.tmp'
                       f'{os.getpid()}.py')
        cfg.dump(tmp)
        os.replace(tmp, path)
        return path

    @staticmethod
    def _export_names(cfg) -> List[str]:
        import mmbas  # noqa: F401  (registries)
        from mmengine.registry import init_default_scope

        from mmbas.pseudo.export import build_export_dataset
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        return [it[0] for it in build_export_dataset(cfg)[1]]

    def export(self, ckpt: str, threshold: float) -> str:
        """Export (or complete, or skip) the pseudo masks of ``ckpt`` at
        ``threshold``; return the mask folder."""
        start = time.time()
        work = self.dirs['pseudo']
        config = self.export_config()
        opts = self.opts['seeds'] + [
            f'model.bg_threshold={float(threshold)!r}'
        ]
        cfg = load_stage_config(config, opts)
        self._enter(
            'pseudo',
            make_fingerprint(
                config, cfg, opts,
                ['export_pseudo_labels.py', ckpt] + self.export_args,
                inputs=dict(checkpoint=ckpt),
                upstream=self.fingerprints.get('seeds')))
        names = self._export_names(cfg)
        summary = read_json(osp.join(work, 'export_summary.json'))
        if summary is not None and not summary.get('failed') and all(
                osp.isfile(osp.join(work, f'{n}.png')) for n in names):
            self._record('pseudo', 'skipped', start, num_masks=len(names),
                         reason='export_summary.json covers the '
                         f'{len(names)} images')
            return work
        self.runner.run_tool(
            'pseudo', 'export_pseudo_labels.py',
            [config, ckpt, '--out', work, '--no-progress'] +
            self.export_args + _with_options(opts))
        self._record('pseudo', 'done', start, num_masks=len(names))
        return work

    # -- stage 3 -------------------------------------------------------
    def stage3(self, pseudo_dir: str) -> Dict:
        """Check the masks in ``pseudo_dir``, train and evaluate (or resume,
        or skip) stage 3; return ``mIoU`` and the val ``metrics``."""
        start = time.time()
        work, config = self.dirs['stage3'], self.configs['stage3']
        metrics_path = osp.join(work, 'val_metrics.json')
        opts = [
            'train_dataloader.dataset.data_prefix.seg_map_path='
            f'{pseudo_dir}'
        ] + self.opts['stage3']
        cfg = load_stage_config(config, opts)
        self._enter(
            'stage3',
            make_fingerprint(config, cfg, opts, ['train.py'],
                             upstream=self.fingerprints.get('pseudo')))
        ckpt = final_checkpoint(work, cfg)
        done = read_json(metrics_path)
        if ckpt is not None and done is not None and done.get(
                'checkpoint') == ckpt:
            self._record('stage3', 'skipped', start, checkpoint=ckpt,
                         val_mIoU=done.get('mIoU'),
                         reason='final checkpoint and val metrics exist')
            return done
        if ckpt is None:
            from mmbas.pseudo.checks import (PseudoMaskError,
                                             check_pseudo_masks)
            try:
                report = check_pseudo_masks(cfg)
            except PseudoMaskError as err:
                raise PipelineError(f'stage3: {err}') from None
            self.log(f"stage3: pseudo-mask check ok ({report['num_images']} "
                     f"masks, max label {report['max_label']})")
            args = [config, '--work-dir', work]
            if _has_checkpoint(work):
                args.append('--resume')
            self.runner.run_tool('stage3', 'train.py',
                                 args + _with_options(opts))
            ckpt = final_checkpoint(work, cfg)
            if ckpt is None:
                raise PipelineError(f'stage3 finished but {work}/'
                                    'last_checkpoint does not name the '
                                    'final checkpoint')
        val_dir = osp.join(work, 'val')
        t0 = time.time() - 1
        self.runner.run_tool(
            'stage3', 'test.py',
            [config, ckpt, '--work-dir', val_dir] + _with_options(opts))
        metrics = read_test_metrics(val_dir, since=t0)
        done = dict(checkpoint=ckpt, mIoU=metrics.get('mIoU'),
                    metrics=metrics)
        write_json(metrics_path, done)
        self._record('stage3', 'done', start, checkpoint=ckpt,
                     val_mIoU=done['mIoU'])
        return done

    # -- summary -------------------------------------------------------
    def _save_summary(self) -> Dict:
        summary = dict(
            dataset=self.dataset,
            work_dir=self.work_dir,
            configs=self.configs,
            stages=self.results)
        seeds = self.results.get('seeds', {})
        summary['seed_mIoU'] = seeds.get('seed_mIoU')
        summary['best_threshold'] = seeds.get('best_threshold')
        summary['val_mIoU'] = self.results.get('stage3', {}).get('val_mIoU')
        os.makedirs(self.work_dir, exist_ok=True)
        write_json(self.summary_path, summary)
        return summary

    def run(self) -> Dict:
        """All stages; return the summary (also printed and saved)."""
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


def run_pipeline(work_dir: str, **kwargs) -> Dict:
    """Run (or resume) the pipeline in ``work_dir``; ``kwargs`` are those of
    :class:`Pipeline`. Returns the summary dict."""
    return Pipeline(work_dir, **kwargs).run()
