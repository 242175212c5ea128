#!/usr/bin/env bash
# House-style checks (OpenMMLab's: flake8, isort, yapf, codespell,
# docformatter with the settings of setup.cfg) over the whole tree.
#
#   bash tools/misc/lint.sh          # check only (what .ci/run does)
#   bash tools/misc/lint.sh --fix    # rewrite the files, then check
#
# The tools come from requirements/lint.txt (pip install -r it into the
# environment of tools/install.sh); $PYTHON selects the interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
PATHS=(mmbas tools tests configs projects setup.py)
if [ "${1:-}" = "--fix" ]; then
    "$PY" -m isort -q "${PATHS[@]}"
    "$PY" -m yapf -i -r -p "${PATHS[@]}"
    "$PY" -m docformatter --in-place -r \
        "${PATHS[@]}" || true  # exit 3 = files changed
fi
status=0
"$PY" -m flake8 "${PATHS[@]}" || status=1
"$PY" -m isort --check-only --diff -q "${PATHS[@]}" || status=1
"$PY" -m yapf --diff -r -p "${PATHS[@]}" > /tmp/yapf.diff.$$ || true
if [ -s /tmp/yapf.diff.$$ ]; then
    echo "yapf would reformat:" >&2
    grep '^+++' /tmp/yapf.diff.$$ | sed 's/^+++ /  /' >&2
    status=1
fi
rm -f /tmp/yapf.diff.$$
"$PY" -m docformatter --check -r "${PATHS[@]}" \
    || status=1
"$PY" -m codespell_lib mmbas tools tests configs projects docs README.md \
    || status=1
if [ $status -ne 0 ]; then
    echo "lint: style checks failed (bash tools/misc/lint.sh --fix" \
        "rewrites what can be rewritten)" >&2
fi
exit $status
