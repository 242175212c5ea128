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

With ``refine='irn'`` (``tools/run_pipeline.py --refine irn``) the seeds
are refined by IRN (spec section 4) before the export; between ``seeds``
and ``pseudo`` run

* ``relabels``: export of IRN's relation labels of the stage-1 train set:
  the resolved seed config with ``model.refiner =
  dict(type='RelationLabelRefiner')`` (fg 0.30 / bg 0.17 + dense CRF; the
  seed config's own ``crf`` off, the refiner smooths), dumped to
  ``work_dir/relabels_export_config.py``; ``cfg_options['relabels']``
  (``--cfg-options-relabels``) go to this export, e.g.
  ``model.refiner.fg_threshold=0.4``;
* ``irn``: ``tools/train.py`` on the IRN config with its train set's
  ``data_root``, ``img_path`` (and ``ann_file`` when both are ``.txt``
  lists) those of the stage-1 train set and ``seg_map_path`` =
  ``work_dir/relabels``; resumed like stage 1;
* ``refine``: export with ``--save-scores`` of the refined maps of the
  stage-1 train set: the seed config with ``model.refiner =
  dict(type='IRNWalkRefiner', irn=<IRN model>, checkpoint=<IRN final
  checkpoint>)`` and ``model.bg_threshold=0.22``, dumped to
  ``work_dir/refine_export_config.py``; ``cfg_options['refine']``
  (``--cfg-options-refine``) go to this export (the walk's settings,
  e.g. ``model.refiner.beta=10``);
* ``masks``: ``tools/test.py`` on the seed config's test set with its
  evaluators, the model replaced by ``StoredMapsInferencer`` reading
  ``work_dir/refine`` (no walk rerun): the mask mIoU and the
  background-threshold sweep on the refined maps
  (``masks/mask_metrics.json``). The test images must be among the
  exported train images (VOC: train is in trainaug);

and ``pseudo`` exports through the same ``StoredMapsInferencer`` at the
best mask threshold (``work_dir/pseudo_export_config.py``).

Rerunning the same call skips the complete stages whose fingerprint is
unchanged and resumes the first incomplete one (``--resume`` for the
trainings, finished masks are skipped by the export). A stage whose
fingerprint changed (another config value, option, export argument, or a
rerun upstream stage) has its folder moved aside to
``<name>.stale-<time>`` and runs again, and so do the later stages. The
final summary (seed mIoU, threshold, mask mIoU with ``refine``, val mIoU,
time per stage) is printed
and saved as ``work_dir/summary.json``.

``until`` (``tools/run_pipeline.py --until STAGE``) stops after the named
stage, e.g. ``masks`` to measure the refined masks without the export and
stage 3; the summary then lists the stages run so far, and the same
command without ``until`` later continues from there (the finished stages
are skipped as usual).
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
    'PipelineError', 'DEFAULT_CONFIGS', 'STAGES', 'REFINE_STAGES', 'REFINERS',
    'IRN_BG_THRESHOLD', 'Pipeline', 'final_checkpoint', 'read_test_metrics',
    'format_summary', 'run_pipeline'
]

STAGES = ('stage1', 'seeds', 'pseudo', 'stage3')

#: the stages with ``refine='irn'``
REFINE_STAGES = ('stage1', 'seeds', 'relabels', 'irn', 'refine', 'masks',
                 'pseudo', 'stage3')

#: the refiners ``refine`` takes
REFINERS = ('irn', )

#: stages whose config takes ``--cfg-options`` (the exports reuse seeds')
OPTION_STAGES = ('stage1', 'seeds', 'relabels', 'irn', 'refine', 'stage3')

#: background threshold of IRN-refined maps (spec section 4), the one the
#: refined maps are exported with before the mask sweep
IRN_BG_THRESHOLD = 0.22

DEFAULT_CONFIGS = {
    'voc':
    dict(
        stage1='configs/bas/bas_r50_1xb16-10e_voc12aug-448x448.py',
        seeds='configs/bas/bas_r50_seed-ms-flip_voc12-train.py',
        irn='configs/irn/irn_r50_1xb32-3e_voc12aug-512x512.py',
        stage3='configs/deeplab/'
        'deeplabv2_r101_1xb10-20k_voc12aug-pseudo-321x321.py'),
    'coco':
    dict(
        stage1='configs/bas/bas_r50_1xb16-10e_coco14-448x448.py',
        seeds='configs/bas/bas_r50_seed-ms-flip_coco14-val.py',
        irn='configs/irn/irn_r50_1xb32-3e_coco14-512x512.py',
        stage3='configs/deeplab/'
        'deeplabv2_r101_1xb10-20k_coco14-pseudo-321x321.py'),
}

#: the export config derived from a seed config without export_dataloader
EXPORT_CONFIG = 'pseudo_export_config.py'

#: the configs the refine stages dump (in ``work_dir``)
RELABEL_CONFIG = 'relabels_export_config.py'
REFINE_CONFIG = 'refine_export_config.py'
MASKS_CONFIG = 'masks_config.py'


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
    return bool(path) and osp.isfile(
        path if osp.isabs(path) else osp.join(work_dir, path))


def add_export_set(cfg, config: str):
    """Give ``cfg`` (a resolved seed config, changed in place) an
    ``export_dataloader`` unless it has one: the dataset of its
    ``train_dataloader`` (the stage-1 train set) read through the pipeline of
    its ``test_dataloader`` (whole images; the training pipeline's resize, crop
    and flip would not give the masks of the images).

    Args:
        cfg (mmengine.Config): the config.
        config (str): its path, for the error message.

    Returns:
        mmengine.Config: ``cfg``.
    """
    import copy
    if 'export_dataloader' in cfg:
        return cfg
    if 'train_dataloader' not in cfg:
        raise PipelineError(
            f'the seed config {config} has neither export_dataloader '
            'nor train_dataloader: add export_dataloader = '
            'dict(dataset=...) with the images to export (the stage-1 '
            'train set)')
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    test = (cfg.get('test_dataloader', None) or {}).get('dataset', {})
    if 'pipeline' in test:
        dataset.pipeline = copy.deepcopy(test['pipeline'])
    cfg.export_dataloader = dict(dataset=dataset)
    return cfg


def dump_config(cfg, path: str) -> str:
    """Dump ``cfg`` to ``path`` atomically (temp file + ``os.replace``); return
    ``path``."""
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{name[:-3]}.tmp{os.getpid()}.py')
    cfg.dump(tmp)
    os.replace(tmp, path)
    return path


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
            threshold instead of the best one of the sweep (of the masks'
            sweep with ``refine``).
        refine (str, optional): ``'irn'``: refine the seeds with IRN
            before the export (the stages ``relabels``, ``irn``,
            ``refine``, ``masks``; see the module doc).
        irn_config (str, optional): IRN training config with ``refine``
            (default ``configs/irn/irn_r50_1xb32-3e_<voc12aug|coco14>-
            512x512.py``); ``cfg_options['irn']`` are its options.
        export_args (Sequence[str]): extra arguments of
            ``tools/export_pseudo_labels.py`` (e.g. ``--num-workers 8``).
        runner (StageRunner, optional): runs the tools (launcher, GPUs);
            default a single-process :class:`StageRunner`.
        until (str, optional): stop after this stage (one of
            :data:`STAGES`, or of :data:`REFINE_STAGES` with ``refine``);
            default: run them all.
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
                 runner: Optional[StageRunner] = None,
                 refine: Optional[str] = None,
                 irn_config: Optional[str] = None,
                 until: Optional[str] = None):
        if dataset not in DEFAULT_CONFIGS:
            raise PipelineError(f'dataset {dataset!r} is not one of '
                                f'{sorted(DEFAULT_CONFIGS)}')
        unknown = set(cfg_options or {}) - set(OPTION_STAGES)
        if unknown:
            raise PipelineError(f'cfg_options for {sorted(unknown)}: only '
                                f'{", ".join(OPTION_STAGES)} take options')
        if refine is not None and refine not in REFINERS:
            raise PipelineError(f'refine {refine!r} is not one of '
                                f'{", ".join(REFINERS)}')
        refine_opts = [
            s for s in ('relabels', 'irn', 'refine')
            if (cfg_options or {}).get(s)
        ]
        if refine is None and (refine_opts or irn_config):
            given = ', '.join(f'--cfg-options-{s}' for s in refine_opts)
            raise PipelineError(f'{given or "--irn-config"} given without '
                                'refine: add --refine irn')
        self.refiner = refine
        self.dataset = dataset
        self.work_dir = osp.abspath(work_dir)
        defaults = DEFAULT_CONFIGS[dataset]
        self.configs = dict(
            stage1=_resolve_config(stage1_config or defaults['stage1']),
            seeds=_resolve_config(seed_config or defaults['seeds']),
            stage3=_resolve_config(stage3_config or defaults['stage3']))
        if refine == 'irn':
            self.configs['irn'] = _resolve_config(irn_config
                                                  or defaults['irn'])
        self.opts = {
            s: [str(t) for t in (cfg_options or {}).get(s) or ()]
            for s in OPTION_STAGES
        }
        for stage, tokens in self.opts.items():  # fail before any stage
            parse_cfg_options(tokens, f'--cfg-options-{stage}')
        self.bg_threshold = bg_threshold
        self.export_args = [str(a) for a in export_args]
        self.runner = runner or StageRunner()
        self.stages = REFINE_STAGES if refine else STAGES
        if until is not None and until not in self.stages:
            hint = '' if refine or until not in REFINE_STAGES else (
                f' ({until} is a stage of --refine irn)')
            raise PipelineError(f'until {until!r} is not a stage of this '
                                f'pipeline: one of {", ".join(self.stages)}'
                                f'{hint}')
        self.until = until
        self.dirs = {s: osp.join(self.work_dir, s) for s in self.stages}
        self.summary_path = osp.join(self.work_dir, 'summary.json')
        self.previous = read_json(self.summary_path) or {}
        self.results: Dict[str, Dict] = {}
        #: stage -> fingerprint of this run
        self.fingerprints: Dict[str, Dict] = {}

    def log(self, msg: str) -> None:
        self.runner.log(msg)

    def _record(self, stage: str, status: str, start: float, **extra) -> Dict:
        res = dict(
            status=status, time_s=round(time.time() - start, 1), **extra)
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
                 (f' in {res["time_s"]:.1f} s' if status != 'skipped' else ''))
        self._save_summary()
        return res

    def _enter(self, stage: str, fingerprint: Dict) -> None:
        self.fingerprints[stage] = fingerprint
        self.runner.enter(stage, self.dirs[stage], fingerprint)

    # -- stage 1 -------------------------------------------------------
    def _train(self,
               stage: str,
               config: str,
               opts: Sequence[str],
               upstream: Optional[str] = None) -> str:
        """Train (or resume, or skip) ``stage``: ``tools/train.py config`` with
        the option tokens ``opts``; return its final checkpoint."""
        start = time.time()
        work = self.dirs[stage]
        cfg = load_stage_config(config, opts)
        self._enter(
            stage,
            make_fingerprint(
                config,
                cfg,
                opts, ['train.py'],
                upstream=self.fingerprints.get(upstream)
                if upstream else None))
        ckpt = final_checkpoint(work, cfg)
        if ckpt is not None:
            self._record(
                stage,
                'skipped',
                start,
                checkpoint=ckpt,
                reason=f'final checkpoint {osp.basename(ckpt)} '
                'exists')
            return ckpt
        args = [config, '--work-dir', work]
        if _has_checkpoint(work):
            args.append('--resume')
        self.runner.run_tool(stage, 'train.py', args + _with_options(opts))
        ckpt = final_checkpoint(work, cfg)
        if ckpt is None:
            raise PipelineError(f'{stage} finished but {work}/'
                                'last_checkpoint does not name the final '
                                'checkpoint')
        self._record(stage, 'done', start, checkpoint=ckpt)
        return ckpt

    def stage1(self) -> str:
        """Train (or resume, or skip) stage 1; return its final checkpoint."""
        return self._train('stage1', self.configs['stage1'],
                           self.opts['stage1'])

    # -- seeds ---------------------------------------------------------
    def _choose_threshold(self,
                          metrics: Mapping,
                          fixed: Optional[float] = None) -> Dict:
        """Export threshold and the seed mIoU there: ``fixed`` when given,
        else the best one of the sweep."""
        if fixed is not None:
            best = float(fixed)
            return dict(
                best_threshold=best,
                seed_mIoU=metrics.get(f'sweep/mIoU@{best:.2f}',
                                      metrics.get('mIoU')))
        if 'sweep/best_threshold' not in metrics:
            raise PipelineError(
                'the seed config reports no sweep/best_threshold: add '
                "dict(type='SeedSweepMetric', prefix='sweep') to its "
                'test_evaluator (see '
                'configs/bas/bas_r50_seed-ms-flip_voc12-train.py) or '
                'pass --bg-threshold')
        return dict(
            best_threshold=float(metrics['sweep/best_threshold']),
            seed_mIoU=metrics.get('sweep/mIoU'))

    def _run_sweep(self, stage: str, config: str, ckpt: str,
                   opts: Sequence[str], threshold: Optional[float]) -> Dict:
        """``tools/test.py config ckpt`` with ``opts`` in the ``stage`` folder;
        return its metrics, checked by :meth:`_choose_threshold` (fails without
        a background sweep)."""
        work = self.dirs[stage]
        t0 = time.time() - 1
        self.runner.run_tool(stage, 'test.py',
                             [config, ckpt, '--work-dir', work] +
                             _with_options(opts))
        metrics = read_test_metrics(work, since=t0)
        self._choose_threshold(metrics, threshold)
        return metrics

    @property
    def _seed_fixed_threshold(self) -> Optional[float]:
        """``bg_threshold`` applies to the seeds' export unless the masks are
        refined (then it is the masks' export threshold)."""
        return None if self.refiner else self.bg_threshold

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
            make_fingerprint(
                config,
                cfg,
                opts, ['test.py', ckpt],
                inputs=dict(checkpoint=ckpt),
                upstream=self.fingerprints.get('stage1')))
        done = read_json(out)
        status = 'skipped'
        if done is None or 'metrics' not in done:
            status = 'done'
            metrics = self._run_sweep('seeds', config, ckpt, opts,
                                      self._seed_fixed_threshold)
            # the sweep's result; the export threshold is chosen below
            done = dict(
                checkpoint=ckpt,
                best_threshold=metrics.get('sweep/best_threshold'),
                seed_mIoU=metrics.get('sweep/mIoU'),
                metrics=metrics)
            write_json(out, done)
        res = dict(
            done,
            **self._choose_threshold(done['metrics'],
                                     self._seed_fixed_threshold))
        self._record(
            'seeds',
            status,
            start,
            seed_mIoU=res['seed_mIoU'],
            best_threshold=res['best_threshold'],
            **(dict(
                reason='seed metrics exist') if status == 'skipped' else {}))
        return res

    # -- export --------------------------------------------------------
    def _seed_cfg(self):
        """The seed config with the seeds' options merged."""
        return load_stage_config(self.configs['seeds'], self.opts['seeds'])

    def export_config(self) -> str:
        """The config the export reads: the seed config when it has an
        ``export_dataloader``; else the resolved seed config (its options
        merged) with the stage-1 train set as ``export_dataloader`` (see
        :func:`add_export_set`), dumped to
        ``work_dir/pseudo_export_config.py``."""
        config = self.configs['seeds']
        cfg = self._seed_cfg()
        if 'export_dataloader' in cfg:
            return config
        return dump_config(
            add_export_set(cfg, config), osp.join(self.work_dir,
                                                  EXPORT_CONFIG))

    @staticmethod
    def _export_names(cfg) -> List[str]:
        """Image names of the export (``export_dataloader``, else
        ``test_dataloader``) of ``cfg``."""
        from mmengine.registry import init_default_scope

        import mmbas  # noqa: F401  (registries)
        from mmbas.pseudo.export import build_export_dataset
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        return [it[0] for it in build_export_dataset(cfg)[1]]

    def _export(self,
                stage: str,
                config: str,
                ckpt: str,
                opts: Sequence[str] = (),
                upstream: Optional[str] = None,
                save_scores: bool = False,
                inputs: Optional[Mapping[str, str]] = None) -> Dict:
        """Export (or complete, or skip) ``tools/export_pseudo_labels.py config
        ckpt`` into the stage folder; return ``dir`` and ``num_masks``."""
        start = time.time()
        work = self.dirs[stage]
        cfg = load_stage_config(config, opts)
        tool_args = [ckpt] + (['--save-scores'] if save_scores else []) + \
            self.export_args
        self._enter(
            stage,
            make_fingerprint(
                config,
                cfg,
                opts, ['export_pseudo_labels.py'] + tool_args,
                inputs=dict(inputs or dict(checkpoint=ckpt)),
                upstream=self.fingerprints.get(upstream)))
        names = self._export_names(cfg)
        exts = ('png', 'npz') if save_scores else ('png', )
        summary = read_json(osp.join(work, 'export_summary.json'))
        if summary is not None and not summary.get('failed') and all(
                osp.isfile(osp.join(work, f'{n}.{e}')) for n in names
                for e in exts):
            self._record(
                stage,
                'skipped',
                start,
                num_masks=len(names),
                reason='export_summary.json covers the '
                f'{len(names)} images')
            return dict(dir=work, num_masks=len(names))
        self.runner.run_tool(stage, 'export_pseudo_labels.py',
                             [config, ckpt, '--out', work, '--no-progress'] +
                             tool_args[1:] + _with_options(opts))
        self._record(stage, 'done', start, num_masks=len(names))
        return dict(dir=work, num_masks=len(names))

    def export(self,
               ckpt: str,
               threshold: float,
               config: Optional[str] = None) -> str:
        """Export (or complete, or skip) the pseudo masks of ``ckpt`` at
        ``threshold`` through ``config`` (default :meth:`export_config` with
        the seeds' options); return the mask folder."""
        if config is None:
            config, opts = self.export_config(), list(self.opts['seeds'])
            upstream = 'seeds'
        else:  # a dumped config: the options are merged in it
            opts, upstream = [], 'masks'
        opts.append(f'model.bg_threshold={float(threshold)!r}')
        return self._export(
            'pseudo', config, ckpt, opts, upstream=upstream)['dir']

    # -- IRN refinement ------------------------------------------------
    def _refinable_seed_cfg(self):
        """The resolved seed config with its export set, checked to be a
        ``SeedInferencer`` config (the refiners are its steps)."""
        cfg = add_export_set(self._seed_cfg(), self.configs['seeds'])
        if cfg.model.get('type') != 'SeedInferencer':
            raise PipelineError(
                f"refine: the seed config {self.configs['seeds']} has "
                f"model type {cfg.model.get('type')!r}; the IRN refiners "
                "are steps of model=dict(type='SeedInferencer', ...) (see "
                'configs/bas/bas_r50_seed-ms-flip_voc12-train.py)')
        return cfg

    def relabels(self, ckpt: str) -> str:
        """Export (or complete, or skip) IRN's relation labels of the stage-1
        train set; return their folder."""
        cfg = self._refinable_seed_cfg()
        # the refiner smooths with dense CRF itself; a label CRF of the seed
        # config would replace the same label map
        cfg.model.crf = None
        cfg.model.refiner = dict(type='RelationLabelRefiner')
        config = dump_config(cfg, osp.join(self.work_dir, RELABEL_CONFIG))
        out = self._export(
            'relabels',
            config,
            ckpt,
            list(self.opts['relabels']),
            upstream='seeds')['dir']
        shares = label_shares(osp.join(out, 'export_summary.json'))
        if shares:
            self.results['relabels'].update(label_shares=shares)
        return out

    def irn_options(self, relabel_dir: str) -> List[str]:
        """``--cfg-options`` of the IRN training: its train set's
        ``data_root``, ``img_path`` and (when both are ``.txt`` lists)
        ``ann_file`` those of the stage-1 train set, ``seg_map_path`` the
        relation labels; then the user's ``irn`` options."""
        train = add_export_set(self._seed_cfg(),
                               self.configs['seeds']).export_dataloader
        train = train.dataset
        irn = load_stage_config(self.configs['irn'])
        irn_ds = irn.train_dataloader.dataset
        key = 'train_dataloader.dataset.'
        opts = []
        if train.get('data_root'):
            opts.append(f"{key}data_root={train['data_root']}")
        img = (train.get('data_prefix') or {}).get('img_path')
        if img:
            opts.append(f'{key}data_prefix.img_path={img}')
        ann, irn_ann = str(train.get('ann_file',
                                     '')), str(irn_ds.get('ann_file', ''))
        if ann.endswith('.txt') and irn_ann.endswith('.txt'):
            opts.append(f'{key}ann_file={ann}')
        opts.append(f'{key}data_prefix.seg_map_path={relabel_dir}')
        return opts + self.opts['irn']

    def irn(self, relabel_dir: str) -> str:
        """Train (or resume, or skip) IRN on the relation labels in
        ``relabel_dir``; return its final checkpoint."""
        return self._train(
            'irn',
            self.configs['irn'],
            self.irn_options(relabel_dir),
            upstream='relabels')

    def refine(self, ckpt: str, irn_ckpt: str) -> str:
        """Export (or complete, or skip) the IRN-refined maps (``--save-
        scores``) of the stage-1 train set; return their folder."""
        import copy
        irn_cfg = load_stage_config(self.configs['irn'],
                                    self.irn_options(self.dirs['relabels']))
        irn_model = copy.deepcopy(irn_cfg.model)
        if 'backbone' in irn_model:  # the checkpoint holds every weight
            irn_model.backbone.init_cfg = None
        cfg = self._refinable_seed_cfg()
        cfg.model.crf = None
        cfg.model.refiner = dict(
            type='IRNWalkRefiner', irn=irn_model, checkpoint=irn_ckpt)
        cfg.model.bg_threshold = IRN_BG_THRESHOLD
        config = dump_config(cfg, osp.join(self.work_dir, REFINE_CONFIG))
        return self._export(
            'refine',
            config,
            ckpt,
            list(self.opts['refine']),
            upstream='irn',
            save_scores=True,
            inputs=dict(checkpoint=ckpt, irn_checkpoint=irn_ckpt))['dir']

    def masks_cfg(self, maps_dir: str):
        """The resolved seed config with ``model`` = ``StoredMapsInferencer``
        reading the maps in ``maps_dir`` (its test set, evaluators and
        dataloaders unchanged)."""
        cfg = self._seed_cfg()
        model = cfg.model
        try:
            num_classes = int(model.module.head.num_classes)
        except (AttributeError, KeyError, TypeError):
            raise PipelineError(
                f"masks: the seed config {self.configs['seeds']} has no "
                'model.module.head.num_classes (the number of foreground '
                'classes of the stored maps)') from None
        cfg.model = dict(
            type='StoredMapsInferencer',
            maps_dir=maps_dir,
            num_classes=num_classes,
            bg_threshold=IRN_BG_THRESHOLD,
            fg_threshold=model.get('fg_threshold', None))
        cfg.load_from = None
        return cfg

    def masks(self, ckpt: str, maps_dir: str) -> Dict:
        """Mask evaluation (threshold sweep) of the refined maps in
        ``maps_dir`` on the seed config's test set (or its saved result);
        return ``mask_threshold`` (the export threshold), ``mask_mIoU``,
        ``config`` (the dumped ``StoredMapsInferencer`` config) and the
        ``metrics`` of ``tools/test.py``."""
        start = time.time()
        work = self.dirs['masks']
        out = osp.join(work, 'mask_metrics.json')
        cfg = self.masks_cfg(maps_dir)
        config = dump_config(cfg, osp.join(self.work_dir, MASKS_CONFIG))
        # the checkpoint is a required argument of the tool; the model
        # has no weights and ignores it (not part of the fingerprint)
        self._enter(
            'masks',
            make_fingerprint(
                config,
                cfg, (), ['test.py'],
                upstream=self.fingerprints.get('refine')))
        done = read_json(out)
        status = 'skipped'
        if done is None or 'metrics' not in done:
            status = 'done'
            names = self._export_names(cfg)
            missing = [
                n for n in names
                if not osp.isfile(osp.join(maps_dir, f'{n}.npz'))
            ]
            if missing:
                few = ', '.join(f'{n}.npz' for n in missing[:5])
                raise PipelineError(
                    f'masks: {len(missing)} of the {len(names)} test images '
                    f'of the seed config have no refined maps in {maps_dir} '
                    f'({few}{", ..." if len(missing) > 5 else ""}): the '
                    'maps are exported for the stage-1 train set only. '
                    "Point the seed config's test_dataloader at labelled "
                    'images of the train set (--cfg-options-seeds '
                    'test_dataloader.dataset.ann_file=... ; VOC: train is '
                    'in trainaug; COCO: a list of train2014 images with '
                    'their SegmentationClass masks)')
            metrics = self._run_sweep('masks', config, ckpt, (),
                                      self.bg_threshold)
            done = dict(
                maps_dir=maps_dir,
                best_threshold=metrics.get('sweep/best_threshold'),
                mask_mIoU=metrics.get('sweep/mIoU'),
                metrics=metrics)
            write_json(out, done)
        chosen = self._choose_threshold(done['metrics'], self.bg_threshold)
        res = dict(
            done,
            config=config,
            mask_threshold=chosen['best_threshold'],
            mask_mIoU=chosen['seed_mIoU'])
        self._record(
            'masks',
            status,
            start,
            mask_mIoU=res['mask_mIoU'],
            mask_threshold=res['mask_threshold'],
            **(dict(
                reason='mask metrics exist') if status == 'skipped' else {}))
        return res

    def pseudo_config(self, masks: Mapping) -> str:
        """The export config of the refined masks: the ``masks`` stage's
        ``StoredMapsInferencer`` config with the stage-1 train set as its
        ``export_dataloader``, dumped to
        ``work_dir/pseudo_export_config.py``."""
        from mmengine.config import Config
        cfg = add_export_set(
            Config.fromfile(masks['config']), self.configs['seeds'])
        return dump_config(cfg, osp.join(self.work_dir, EXPORT_CONFIG))

    # -- stage 3 -------------------------------------------------------
    def stage3(self, pseudo_dir: str) -> Dict:
        """Check the masks in ``pseudo_dir``, train and evaluate (or resume, or
        skip) stage 3; return ``mIoU`` and the val ``metrics``."""
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
            make_fingerprint(
                config,
                cfg,
                opts, ['train.py'],
                upstream=self.fingerprints.get('pseudo')))
        ckpt = final_checkpoint(work, cfg)
        done = read_json(metrics_path)
        if ckpt is not None and done is not None and done.get(
                'checkpoint') == ckpt:
            self._record(
                'stage3',
                'skipped',
                start,
                checkpoint=ckpt,
                val_mIoU=done.get('mIoU'),
                reason='final checkpoint and val metrics exist')
            return done
        if ckpt is None:
            from mmbas.pseudo.checks import PseudoMaskError, check_pseudo_masks
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
        self.runner.run_tool('stage3', 'test.py',
                             [config, ckpt, '--work-dir', val_dir] +
                             _with_options(opts))
        metrics = read_test_metrics(val_dir, since=t0)
        done = dict(checkpoint=ckpt, mIoU=metrics.get('mIoU'), metrics=metrics)
        write_json(metrics_path, done)
        self._record(
            'stage3', 'done', start, checkpoint=ckpt, val_mIoU=done['mIoU'])
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
        if self.refiner:
            masks = self.results.get('masks', {})
            summary['refine'] = self.refiner
            summary['mask_mIoU'] = masks.get('mask_mIoU')
            summary['mask_threshold'] = masks.get('mask_threshold')
        summary['val_mIoU'] = self.results.get('stage3', {}).get('val_mIoU')
        if self.until is not None:
            summary['until'] = self.until
        os.makedirs(self.work_dir, exist_ok=True)
        write_json(self.summary_path, summary)
        return summary

    def _stages(self):
        """Run the stages in order, yielding each one's name after it ran (or
        was skipped)."""
        ckpt = self.stage1()
        yield 'stage1'
        seeds = self.seeds(ckpt)
        yield 'seeds'
        if self.refiner == 'irn':
            relabel_dir = self.relabels(ckpt)
            yield 'relabels'
            irn_ckpt = self.irn(relabel_dir)
            yield 'irn'
            maps_dir = self.refine(ckpt, irn_ckpt)
            yield 'refine'
            masks = self.masks(ckpt, maps_dir)
            yield 'masks'
            pseudo = self.export(
                ckpt,
                masks['mask_threshold'],
                config=self.pseudo_config(masks))
        else:
            pseudo = self.export(ckpt, seeds['best_threshold'])
        yield 'pseudo'
        self.stage3(pseudo)
        yield 'stage3'

    def run(self) -> Dict:
        """All stages (or those up to ``until``); return the summary (also
        printed and saved)."""
        os.makedirs(self.work_dir, exist_ok=True)
        for stage in self._stages():
            if stage == self.until:
                self.log(f'stopping after {stage} (until={stage})')
                break
        summary = self._save_summary()
        print(format_summary(summary), flush=True)
        return summary


def label_shares(summary_file: str) -> Optional[Dict[str, float]]:
    """``foreground``, ``background`` and ``ignore`` shares of the pixels of an
    export (its ``export_summary.json``), or None without pixel counts.

    IRN learns its boundaries from these relation labels; on toy data a
    foreground share well above the ground truth's (labels broader than the
    objects) went with a failed refinement (docs/pseudo_masks.md, "Measured on
    toy VOC").
    """
    share = (read_json(summary_file) or {}).get('class_pixel_share')
    if not share:
        return None
    values = list(share.values())
    background, ignore = values[0], share.get('ignore', 0.0)
    return dict(
        foreground=round(1.0 - background - ignore, 6),
        background=round(background, 6),
        ignore=round(ignore, 6))


def _share_text(shares: Optional[Dict[str, float]]) -> str:
    if not shares:
        return ''
    return (f": foreground {100 * shares['foreground']:.1f}%, background "
            f"{100 * shares['background']:.1f}%, ignore "
            f"{100 * shares['ignore']:.1f}% of the pixels")


def format_summary(summary: Dict) -> str:
    """The final table of :meth:`Pipeline.run`."""

    def num(v, fmt='{:.2f}'):
        return '-' if v is None else fmt.format(v)

    lines = [
        f"BAS pipeline summary ({summary['dataset']}, "
        f"{summary['work_dir']})",
        f"  {'stage':<8} {'status':<8} {'time (s)':>9}  note"
    ]
    notes = dict(
        stage1=lambda r: osp.basename(r.get('checkpoint', '')),
        seeds=lambda r: f"seed mIoU {num(r.get('seed_mIoU'))} at bg "
        f"threshold {num(r.get('best_threshold'), '{:g}')}",
        relabels=lambda r: f"{r.get('num_masks', '-')} relation label "
        'maps' + _share_text(r.get('label_shares')),
        irn=lambda r: osp.basename(r.get('checkpoint', '')),
        refine=lambda r: f"{r.get('num_masks', '-')} refined maps",
        masks=lambda r: f"mask mIoU {num(r.get('mask_mIoU'))} at bg "
        f"threshold {num(r.get('mask_threshold'), '{:g}')}",
        pseudo=lambda r: f"{r.get('num_masks', '-')} masks",
        stage3=lambda r: f"val mIoU {num(r.get('val_mIoU'))}")
    for stage in REFINE_STAGES:
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
    ]
    if summary.get('refine'):
        lines += [
            f"  mask mIoU      {num(summary.get('mask_mIoU'))} "
            f"({summary['refine']}-refined)",
            f"  mask threshold {num(summary.get('mask_threshold'), '{:g}')}"
        ]
    if summary.get('until'):
        lines.append(f"  (stopped after {summary['until']}: until)")
    lines += [
        f"  val mIoU       {num(summary.get('val_mIoU'))}",
        f"  (saved to {osp.join(summary['work_dir'], 'summary.json')}; times "
        'in parentheses: earlier run of a skipped stage)'
    ]
    return '\n'.join(lines)


def run_pipeline(work_dir: str, **kwargs) -> Dict:
    """Run (or resume) the pipeline in ``work_dir``; ``kwargs`` are those of
    :class:`Pipeline`.

    Returns the summary dict.
    """
    return Pipeline(work_dir, **kwargs).run()
