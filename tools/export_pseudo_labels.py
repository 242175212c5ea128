# Copyright (c) mmbas contributors. All rights reserved.
"""Export WSSS pseudo masks: one palette PNG per image of the list.

    python tools/export_pseudo_labels.py CONFIG CHECKPOINT --out DIR \
        [--split-list FILE] [--scales 1.0 0.5 1.5 2.0] [--no-flip] \
        [--bg-threshold 0.25] [--save-scores] [--num-workers N] \
        [--launcher pytorch] [--cfg-options ...]

Multi-process: ``tools/dist_export.sh CONFIG CHECKPOINT N [args]``.
Resumable (finished images are skipped), deterministic, see
:mod:`mmbas.pseudo.export`. Exit status: 0 ok, 1 some images failed (listed
at the end), 2 a usage error (one line).
"""
import os
import sys


def main() -> int:
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('export_pseudo_labels.py'):
        from mmbas.pseudo.export import main as export_main
        from mmbas.pseudo.writer import ExportError
        try:
            return export_main(sys.argv[1:])
        except ExportError as err:
            if os.environ.get('MMBAS_DEBUG'):
                raise
            print(f'export_pseudo_labels.py: error: {err}', file=sys.stderr)
            return 2


if __name__ == '__main__':
    sys.exit(main())
