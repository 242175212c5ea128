#!/usr/bin/env bash
# Set up mmbas on a fresh Linux machine with Python 3.11 (no GPU needed):
#
#   bash tools/install.sh
#
# Creates (or reuses) the virtual environment $MMBAS_VENV (default: .venv in
# the checkout), then installs into it, in this order:
#   1. torch + torchvision as a matching pair (TORCH_SPEC),
#   2. setuptools < 82 (mmengine's `mmseg::` configs and mmcv's setup.py use
#      pkg_resources), wheel,
#   3. mmcv: mmcv-lite 2.1.0 by default (pure Python, no compiler; mmbas
#      provides a guarded stand-in for the compiled ops mmseg imports), or
#      with MMBAS_MMCV=full the compiled mmcv 2.1.0 (about 9 minutes on 2
#      cores the first time; the wheel is cached in $MMBAS_CACHE),
#   4. mmbas in editable mode with its test extras.
# It ends by importing mmbas, which checks the stack.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-python3}
MMBAS_VENV=${MMBAS_VENV:-$ROOT/.venv}
MMBAS_MMCV=${MMBAS_MMCV:-lite}
MMBAS_CACHE=${MMBAS_CACHE:-$HOME/.cache/mmbas}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
MMCV_VERSION=2.1.0

log() { echo "[install.sh] $*"; }

if [ ! -x "$MMBAS_VENV/bin/python" ]; then
    log "creating virtual environment $MMBAS_VENV"
    "$PYTHON" -m venv "$MMBAS_VENV"
else
    log "reusing virtual environment $MMBAS_VENV"
fi
# shellcheck disable=SC1091
. "$MMBAS_VENV/bin/activate"
PIP="python -m pip"

log "1/4 torch + torchvision ($TORCH_SPEC)"
# shellcheck disable=SC2086
$PIP install $TORCH_SPEC

log "2/4 build tools"
$PIP install "setuptools<82" wheel

case "$MMBAS_MMCV" in
    lite)
        log "3/4 mmcv-lite==$MMCV_VERSION (no compiled ops)"
        if python -c "import importlib.metadata as m; m.version('mmcv')" \
                >/dev/null 2>&1; then
            log "a compiled mmcv is installed; keeping it"
        else
            $PIP install "mmcv-lite==$MMCV_VERSION"
        fi
        ;;
    full)
        log "3/4 mmcv==$MMCV_VERSION with compiled ops"
        mkdir -p "$MMBAS_CACHE/wheels"
        torch_tag=$(python -c "import torch; print(torch.__version__.split('+')[0])")
        wheel_dir="$MMBAS_CACHE/wheels/torch-$torch_tag"
        if ! ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
            log "building mmcv $MMCV_VERSION against torch $torch_tag (slow)"
            $PIP install "setuptools<70" ninja
            src_dir=$(mktemp -d)
            $PIP download --no-deps --no-binary :all: --no-build-isolation \
                "mmcv==$MMCV_VERSION" -d "$src_dir"
            tar xzf "$src_dir/mmcv-$MMCV_VERSION.tar.gz" -C "$src_dir"
            # torch >= 2.14's headers need C++20; mmcv 2.1.0 asks for
            # C++14/17, so raise its standard when the headers say so
            if grep -q "C++20 or later" "$(python -c \
                    'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "include", "ATen", "ATen.h"))')"; then
                sed -i "s/'-std=c++1[47]'/'-std=c++20'/g" \
                    "$src_dir/mmcv-$MMCV_VERSION/setup.py"
            fi
            MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
                $PIP wheel --no-build-isolation --no-deps \
                "$src_dir/mmcv-$MMCV_VERSION" -w "$wheel_dir"
            rm -rf "$src_dir"
        fi
        $PIP uninstall -y mmcv-lite >/dev/null 2>&1 || true
        $PIP install --no-deps "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl
        $PIP install "setuptools<82"
        ;;
    *)
        echo "MMBAS_MMCV must be 'lite' or 'full', got '$MMBAS_MMCV'" >&2
        exit 2
        ;;
esac

log "4/4 mmbas (editable) and its test requirements"
# no build isolation: setup.py must see an installed compiled mmcv to keep
# it instead of asking for mmcv-lite
$PIP install --no-build-isolation -e "$ROOT[tests]"

python -c "import mmbas, mmseg.models, mmpretrain.models; \
print('[install.sh] mmbas', mmbas.__version__, 'is ready')"
log "activate it with: . $MMBAS_VENV/bin/activate"
