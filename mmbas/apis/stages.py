# Copyright (c) mmbas contributors. All rights reserved.
"""Resumable stages made of tool runs, each with a fingerprint of what produced
it (used by ``tools/run_pipeline.py`` through :mod:`mmbas.apis.pipeline`, and
by ``projects/toy_bas_vs_cam``).

A *stage* is one output folder written by one or more ``tools/*.py``
subprocesses. Its *fingerprint* names everything that decides those
outputs:

* ``config``: the config path, and ``config_sha256``: a content hash of the
  resolved config (file, ``_base_`` files and ``--cfg-options`` merged,
  dumped as canonical json), so an edit of a base file counts and a
  comment does not;
* ``cfg_options``: the ``--cfg-options`` tokens, verbatim;
* ``args``: the tool and its other arguments (output folders excluded);
* ``inputs``: content hashes of the files the stage reads (checkpoints), so
  a retrained upstream model counts even under the same path;
* ``upstream``: the digest of the fingerprint of the stage it builds on.

:meth:`StageRunner.enter` stores the fingerprint as
``<folder>/stage_fingerprint.json`` before the stage's tools run. When the
folder already records the same digest, its outputs (complete, or partial
after a crash) belong to this run and are reused or resumed; a different
digest, or a non-empty folder without a record, means they are stale: the
folder is moved aside to ``<folder>.stale-<time>`` and the stage starts
over. As each fingerprint holds its upstream's digest, a change reruns the
stage and every later one.
"""
import hashlib
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    'ROOT', 'find_root', 'FINGERPRINT_FILE', 'StageError', 'parse_cfg_options',
    'load_stage_config', 'config_digest', 'file_digest', 'make_fingerprint',
    'read_json', 'write_json', 'StageRunner'
]


def find_root(package: Optional[str] = None) -> str:
    """The folder holding mmbas's ``tools/`` and ``configs/``.

    That is the checkout for a source tree or an editable install, and the
    package's ``mmbas/.mim`` for a regular install (``pip install .``
    copies both there, see ``setup.py``).

    Args:
        package (str, optional): the ``mmbas`` package folder. Defaults to
            the one of this module.

    Returns:
        str: the checkout or ``<package>/.mim``; the checkout when neither
        holds both folders (the tools then report the missing file).
    """
    if package is None:
        package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    checkout = osp.dirname(package)
    mim = osp.join(package, '.mim')
    for root in (checkout, mim):
        if osp.isdir(osp.join(root, 'tools')) and osp.isdir(
                osp.join(root, 'configs')):
            return root
    return checkout


#: folder of ``tools/`` and ``configs/`` (see :func:`find_root`)
ROOT = find_root()

#: the record of a stage's fingerprint, inside its folder
FINGERPRINT_FILE = 'stage_fingerprint.json'

#: fingerprint fields, in the order a mismatch is reported
FIELDS = ('config', 'config_sha256', 'cfg_options', 'args', 'inputs',
          'upstream')


class StageError(RuntimeError):
    """A user-facing stage failure (one message, no traceback)."""


# ----------------------------------------------------------------------------
# json files
# ----------------------------------------------------------------------------
def write_json(path: str, data: Mapping) -> None:
    """Write ``data`` to ``path`` atomically (temp file + ``os.replace``)."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def read_json(path: str) -> Optional[Dict]:
    """The json object in ``path``; None when missing or unreadable."""
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------
# configs and files
# ----------------------------------------------------------------------------
def parse_cfg_options(tokens: Sequence[str],
                      source: str = '--cfg-options') -> Dict:
    """Parse ``KEY=VALUE`` tokens exactly as mmengine's ``DictAction`` does in
    the tools, which receive the same tokens verbatim.

    Args:
        tokens (Sequence[str]): e.g. ``['model.scales=[1.0,0.5]']``.
        source (str): name of the option in the error message.

    Returns:
        dict: key -> parsed value.
    """
    from mmengine.config import DictAction
    options = {}
    for tok in tokens:
        if '=' not in tok:
            raise StageError(f'{source}: {tok!r} is not KEY=VALUE (e.g. '
                             'train_dataloader.batch_size=4)')
        key, value = tok.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    return options


def load_stage_config(path: str, tokens: Sequence[str] = ()):
    """``Config.fromfile(path)`` with the ``--cfg-options`` tokens merged (what
    the tools build from the same arguments, before they set their launcher and
    work dir)."""
    from mmengine.config import Config
    if not osp.isfile(path):
        raise StageError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    options = parse_cfg_options(tokens)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _canonical(obj):
    """``obj`` as json-able data that keeps what the config means: dict keys
    sorted as strings, tuples apart from lists, other objects as their
    ``repr``."""
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {'__tuple__': [_canonical(v) for v in obj]}
    if isinstance(obj, list):
        return [_canonical(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def config_digest(cfg) -> str:
    """sha256 of the resolved config dumped as canonical json (sorted keys; a
    thousand times faster than hashing ``cfg.pretty_text``, which runs
    yapf)."""
    text = json.dumps(_canonical(cfg.to_dict()), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


_FILE_DIGESTS: Dict[Tuple[str, int, int], str] = {}


def file_digest(path: str) -> str:
    """sha256 of a file's content (cached per path, size and mtime)."""
    st = os.stat(path)
    key = (osp.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        _FILE_DIGESTS[key] = h.hexdigest()
    return _FILE_DIGESTS[key]


def make_fingerprint(config: Optional[str] = None,
                     cfg=None,
                     cfg_options: Sequence[str] = (),
                     args: Sequence[str] = (),
                     inputs: Optional[Mapping[str, str]] = None,
                     upstream: Optional[Mapping] = None) -> Dict:
    """The fingerprint of a stage (see the module doc).

    Args:
        config (str, optional): config path (stored absolute).
        cfg (mmengine.Config, optional): the resolved config (``config``
            with ``cfg_options``); its content hash is stored.
        cfg_options (Sequence[str]): ``--cfg-options`` tokens, verbatim.
        args (Sequence[str]): tool name and arguments, verbatim.
        inputs (Mapping[str, str], optional): name -> path of files the
            stage reads; their content hashes are stored.
        upstream (Mapping, optional): fingerprint of the upstream stage.

    Returns:
        dict: the fields and ``digest`` (sha256 of the fields).
    """
    fp = dict(
        config=osp.abspath(config) if config else None,
        config_sha256=config_digest(cfg) if cfg is not None else None,
        cfg_options=[str(t) for t in cfg_options],
        args=[str(a) for a in args],
        inputs={
            k: file_digest(v)
            for k, v in sorted((inputs or {}).items())
        },
        upstream=upstream['digest'] if upstream else None)
    text = json.dumps(fp, sort_keys=True)
    fp['digest'] = hashlib.sha256(text.encode()).hexdigest()
    return fp


def _changed(old: Mapping, new: Mapping) -> List[str]:
    return [k for k in FIELDS if old.get(k) != new.get(k)]


# ----------------------------------------------------------------------------
# the runner
# ----------------------------------------------------------------------------
class StageRunner:
    """Runs ``tools/*.py`` for fingerprinted stages.

    Args:
        launcher (str): ``none`` (one process), ``pytorch`` (every tool
            under ``torch.distributed.run`` with ``gpus`` processes) or
            ``slurm`` / ``mpi`` (this process runs inside the job step,
            the tools get ``--launcher``).
        gpus (int): processes per node with ``launcher='pytorch'``.
        port (int): master port with ``launcher='pytorch'``.
        root (str): repository root holding ``tools/``.
        tag (str): prefix of the log lines.
    """

    def __init__(self,
                 launcher: str = 'none',
                 gpus: int = 1,
                 port: int = 29500,
                 root: str = ROOT,
                 tag: str = 'pipeline'):
        if launcher not in ('none', 'pytorch', 'slurm', 'mpi'):
            raise StageError(f'launcher {launcher!r} is not one of none, '
                             'pytorch, slurm, mpi')
        self.launcher = launcher
        self.gpus = gpus
        self.port = port
        self.root = root
        self.tag = tag

    def log(self, msg: str) -> None:
        print(f'[{self.tag}] {msg}', flush=True)

    # -- fingerprints --------------------------------------------------
    @staticmethod
    def recorded(work_dir: str) -> Optional[Dict]:
        """The fingerprint recorded in ``work_dir`` (None if none)."""
        return read_json(osp.join(work_dir, FINGERPRINT_FILE))

    def move_aside(self, path: str, why: str) -> Optional[str]:
        """Rename ``path`` to ``<path>.stale-<time>``; return the new path
        (None when ``path`` does not exist)."""
        if not osp.exists(path):
            return None
        stamp = time.strftime('%Y%m%d_%H%M%S')
        dst, n = f'{path}.stale-{stamp}', 1
        while osp.exists(dst):
            dst, n = f'{path}.stale-{stamp}-{n}', n + 1
        os.replace(path, dst)
        self.log(f'{osp.basename(path)}: outputs are stale ({why}), moved '
                 f'to {dst}')
        return dst

    def enter(self, stage: str, work_dir: str, fingerprint: Dict) -> bool:
        """Make ``work_dir`` the folder of the stage with ``fingerprint``.

        Returns:
            bool: True when the folder already records this fingerprint
            (its outputs may be reused or resumed); False when the stage
            starts in an empty folder (stale outputs moved aside first).
        """
        old = self.recorded(work_dir)
        if old is not None and old.get('digest') == fingerprint['digest']:
            return True
        if osp.isdir(work_dir) and os.listdir(work_dir):
            if old is None:
                why = f'no {FINGERPRINT_FILE} records what produced them'
            else:
                why = 'changed: ' + ', '.join(_changed(old, fingerprint))
            self.move_aside(work_dir, why)
        os.makedirs(work_dir, exist_ok=True)
        write_json(osp.join(work_dir, FINGERPRINT_FILE), fingerprint)
        return False

    # -- subprocesses --------------------------------------------------
    def command(self, tool: str, args: Sequence[str]) -> List[str]:
        """The command line of ``tools/<tool>`` with ``args``."""
        script = osp.join(self.root, 'tools', tool)
        args = list(args)
        if self.launcher == 'none':
            return [sys.executable, script] + args
        if self.launcher == 'pytorch':
            return [
                sys.executable, '-m', 'torch.distributed.run',
                f'--nproc_per_node={self.gpus}', f'--master_port={self.port}',
                script
            ] + args + ['--launcher', 'pytorch']
        # slurm / mpi: the job step already started one process per rank
        return [sys.executable, script] + args + ['--launcher', self.launcher]

    def run_tool(self,
                 stage: str,
                 tool: str,
                 args: Sequence[str],
                 log_file: Optional[str] = None) -> float:
        """Run ``tools/<tool>`` from the repository root (``root`` first on
        ``PYTHONPATH``); return its wall time in seconds.

        Args:
            stage (str): name in the log lines and errors.
            tool (str): e.g. ``'train.py'``.
            args (Sequence[str]): its arguments, passed verbatim.
            log_file (str, optional): write stdout + stderr there instead
                of this process's terminal.

        Raises:
            StageError: when the tool exits with a non-zero status.
        """
        cmd = self.command(tool, args)
        self.log(f'{stage}: ' + ' '.join(shlex.quote(c) for c in cmd))
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join([self.root] + (
            [env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        start = time.time()
        if log_file is None:
            proc = subprocess.run(cmd, cwd=self.root, env=env)
        else:
            os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
            with open(log_file, 'w') as f:
                proc = subprocess.run(
                    cmd,
                    cwd=self.root,
                    env=env,
                    stdout=f,
                    stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            where = 'the error above'
            if log_file is not None:
                with open(log_file) as f:
                    tail = f.read()[-3000:]
                where = f'the error in {log_file}:\n{tail}\n'
            raise StageError(
                f'{stage} failed ({tool} exited with {proc.returncode}); fix '
                f'{where} and rerun the same command: finished stages are '
                'skipped and this one resumes')
        return time.time() - start
