#!/usr/bin/env bash
# GPU device check (docs/benchmarks.md, "GPU device check"): one short run
# (< 8 minutes on one GPU) that
#   1. runs the CUDA-marked tests (pytest -m cuda),
#   2. times the BAS training step (tools/analysis_tools/benchmark_train.py)
#      of WSOL R50 (batch 32, 224 px) and WSSS R50 (batch 16, 448 px) in
#      fp32, AMP (fp16 autocast + GradScaler) and AMP + channels_last, each
#      against the slow reference implementation in the same run,
#   3. times the pseudo-label export (benchmark_export.py: naive vs fast),
#   4. writes summary.json and summary.md (device_check_summary.py).
# A failing step does not stop the later ones; the exit status is non-zero
# if any step failed. Steps that would start after the time budget are
# skipped and reported as such.
#
# usage: tools/analysis_tools/device_check.sh [--smoke]
# environment:
#   PYTHON   interpreter (default: python on PATH)
#   DEVICE   cuda (default), cuda:N or cpu
#   OUT      output folder (default: work_dirs/device_check)
#   SMOKE=1  (or --smoke) tiny sizes: the toy ResNet-18 config at 64 px,
#            batch 2, one step, two small export images; checks the
#            mechanics (DEVICE=cpu works), its figures mean nothing
#   BUDGET_S time budget in seconds (default 450)
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

SMOKE=${SMOKE:-0}
for arg in "$@"; do
    case $arg in
        --smoke) SMOKE=1 ;;
        *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
    esac
done
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}
OUT_DIR=${OUT:-work_dirs/device_check}
BUDGET_S=${BUDGET_S:-450}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
BENCH=tools/analysis_tools

mkdir -p "$OUT_DIR/logs" "$OUT_DIR/train"
STEPS="$OUT_DIR/steps.tsv"
printf 'step\tstatus\trc\tseconds\tlog\n' > "$STEPS"
START=$(date +%s)
FAILED=0

# run_step NAME TIMEOUT_S CMD...: run CMD with a time limit, its output in
# logs/NAME.log, one line in steps.tsv (ok / failed / timeout / skipped)
run_step() {
    local name=$1 limit=$2
    shift 2
    local log="$OUT_DIR/logs/$name.log"
    local elapsed=$(( $(date +%s) - START ))
    if (( elapsed >= BUDGET_S )); then
        echo "[device_check] $name: skipped (time budget ${BUDGET_S}s spent)"
        printf '%s\tskipped\t\t0\t%s\n' "$name" "$log" >> "$STEPS"
        FAILED=1
        return
    fi
    echo "[device_check] $name (limit ${limit}s, ${elapsed}s elapsed)"
    local t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
    local rc=$?
    local dt=$(( $(date +%s) - t0 ))
    local status=ok
    if (( rc == 124 || rc == 137 )); then
        status=timeout
    elif (( rc != 0 )); then
        status=failed
    fi
    [[ $status == ok ]] || FAILED=1
    echo "[device_check] $name: $status (rc $rc, ${dt}s)"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$dt" "$log" \
        >> "$STEPS"
}

if (( SMOKE )); then
    TESTS=tests/test_models/test_classifiers/test_bas_cuda.py
    MODELS=("wsss-toy-r18|configs/toy/bas_voc_toy_r18.py|2|64")
    ITERS=(--iters 1 --warmup 0)
    EXPORT=(--config configs/toy/bas_voc_toy_r18.py --num-images 2
            --size 64 48 --scales 1.0 --num-workers 0 --rounds 1)
else
    TESTS=tests
    MODELS=("wsol-r50|--model wsol-r50|32|224"
            "wsss-r50|--model wsss-r50|16|448")
    ITERS=(--iters 10 --warmup 3)
    EXPORT=(--num-images 6 --size 500 375 --scales 1.0 0.5 1.5 2.0
            --num-workers 2 --rounds 1)
fi

# 1. the CUDA-marked tests
run_step pytest_cuda 240 "$PYTHON" -m pytest -m cuda -q -p no:cacheprovider \
    --junitxml="$OUT_DIR/pytest_cuda.xml" "$TESTS"

# 2. the training step: fast vs reference, fp32 / AMP / AMP + channels_last
for entry in "${MODELS[@]}"; do
    IFS='|' read -r name model batch size <<< "$entry"
    for variant in fp32 amp amp_cl; do
        extra=()
        [[ $variant == amp* ]] && extra+=(--amp)
        [[ $variant == amp_cl ]] && extra+=(--channels-last)
        # shellcheck disable=SC2086  # $model is "--model NAME" or a path
        run_step "train_${name}_${variant}" 150 "$PYTHON" \
            $BENCH/benchmark_train.py $model --batch "$batch" \
            --size "$size" "${ITERS[@]}" --device "$DEVICE" \
            --compare-reference "${extra[@]}" \
            --json "$OUT_DIR/train/${name}_${variant}.json"
    done
done

# 3. the pseudo-label export
run_step export 150 "$PYTHON" $BENCH/benchmark_export.py "${EXPORT[@]}" \
    --modes naive fast --device "$DEVICE" --json "$OUT_DIR/export.json"

# 4. the summary
"$PYTHON" $BENCH/device_check_summary.py "$OUT_DIR" --device "$DEVICE" \
    --smoke "$SMOKE" --elapsed $(( $(date +%s) - START )) || FAILED=1
echo "[device_check] summary: $OUT_DIR/summary.md, $OUT_DIR/summary.json"
exit $FAILED
