#!/usr/bin/env bash
# Trains the three models of examples/train/train.py the same way (same
# data, steps, optimizer, curriculum), evaluates them at 4K and 16K tokens,
# times a training step at both, plots what SparseK's scorer keeps, then
# writes OUT/report.md and OUT/curves.png. With three or more GPUs the
# three train at once, one per GPU (same card model, so the step times
# compare); otherwise one after another. On the GPU machine, after
# scripts/device-build.sh here (its kernel pack has the sparsek model's
# bf16 kernels with gradients):
#   SPARSEK_KERNELS=.device/pack bash examples/train/run.sh [OUT] [extra train.py args]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/train}
shift || true
export PYTHONPATH=python PYTHONUNBUFFERED=1
mkdir -p "$out"
gpus=$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
i=0
pids=()
for attention in sparsek dense window; do
  cmd=(python3 examples/train/train.py --attention "$attention" --out "$out/$attention"
       --eval-seq 4096 16384 --time-seq 4096 16384 --plot-scores "$@")
  if ((gpus >= 3)); then
    CUDA_VISIBLE_DEVICES=$i "${cmd[@]}" >"$out/$attention.log" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  else
    "${cmd[@]}" 2>&1 | tee "$out/$attention.log"
  fi
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if ((gpus >= 3)); then
  for attention in sparsek dense window; do
    echo "== $attention"; grep -v '^\s*$' "$out/$attention.log" | tr '\r' '\n' | tail -n 8
  done
fi
python3 examples/train/report.py "$out"
exit $status
