#!/usr/bin/env bash
# Distributed training: tools/dist_train.sh CONFIG N [train.py args]
# N processes per node (one per GPU; on a CPU-only machine N CPU ranks with
# the gloo backend). Multi-node: set NNODES, NODE_RANK, PORT, MASTER_ADDR.
# The interpreter is $PYTHON if set, else `python` on PATH (activate the
# environment of tools/install.sh first: . .venv/bin/activate).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
