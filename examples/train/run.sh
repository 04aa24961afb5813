#!/usr/bin/env bash
# Trains the three models of examples/train/train.py the same way (same
# data, steps, optimizer), evaluates them at 4K and 16K tokens, times a
# training step at both, plots what SparseK's scorer keeps, then writes
# OUT/report.md and OUT/curves.png. On the GPU machine, after
# scripts/device-build.sh here (its kernel pack has the sparsek model's
# bf16 kernels with gradients):
#   SPARSEK_KERNELS=.device/pack bash examples/train/run.sh [OUT] [extra train.py args]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/train}
shift || true
export PYTHONPATH=python PYTHONUNBUFFERED=1
for attention in sparsek dense window; do
  python3 examples/train/train.py --attention "$attention" --out "$out/$attention" \
    --eval-seq 4096 16384 --time-seq 4096 16384 --plot-scores "$@"
done
python3 examples/train/report.py "$out"
