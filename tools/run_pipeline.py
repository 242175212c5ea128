# Copyright (c) mmbas contributors. All rights reserved.
"""Run the whole BAS WSSS pipeline (resumable):

    python tools/run_pipeline.py --dataset voc|coco --work-dir DIR \
        [--stage1-config CFG] [--seed-config CFG] [--stage3-config CFG] \
        [--cfg-options-stage1 k=v ...] [--cfg-options-seeds k=v ...] \
        [--cfg-options-stage3 k=v ...] [--bg-threshold T] \
        [--export-args "..."] [--launcher none|pytorch --gpus N]

stage-1 training -> seed evaluation with the background-threshold sweep ->
pseudo-mask export at the best threshold -> mask check -> segmentation
training -> val mIoU; one folder per stage under DIR, a summary table at the
end (also DIR/summary.json). See :mod:`mmbas.apis.pipeline`.
"""
import sys


def main() -> int:
    from mmbas.utils.errors import friendly_errors
    with friendly_errors('run_pipeline.py'):
        from mmbas.apis.pipeline import main as pipeline_main
        return pipeline_main(sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
