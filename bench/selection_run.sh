#!/usr/bin/env bash
# Selection on the device machine (issue 8), after scripts/device-build.sh
# here: `check` runs the selection-related grids on the GPU, the layer
# against the reference at N = 65536 with random, equal and two-valued
# scores, and compute-sanitizer memcheck/racecheck over the selection grid;
# `time` gives the per-kernel breakdown (bench/kernel_breakdown.sh) at
# 16K/64K/256K tokens, with adversarial scores at 64K, and at B = 4,
# Hq = 32, Hkv = 8 (32 rows) at 16K, and the standalone topk / threshold
# at 64K against their write floors (gpu-selection-bench).
# Device tool: carry [".device"], command "bash bench/selection_run.sh [check|time|all]".
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
source bench/device_common.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
if [[ $mode == check || $mode == all ]]; then
  for g in selection tensorcore attention edge; do grid_under none "$g"; done
  for s in normal equal two; do
    SPARSEK_BENCH_SCORES=$s timeout 300 "$D/gpu-layer-bench" 65536 1 check | tail -2
  done
  for tool in memcheck racecheck; do grid_under "$tool" selection; done
fi
if [[ $mode == time || $mode == all ]]; then
  for n in 16384 65536 262144; do bash bench/kernel_breakdown.sh $n 2>&1 | head -8; done
  echo "== launches at 65536"; LAUNCHES=1 bash bench/kernel_breakdown.sh 65536 2>&1 | grep launch
  for s in equal two; do
    echo "== scores $s"; SPARSEK_BENCH_SCORES=$s bash bench/kernel_breakdown.sh 65536 2>&1 | head -3
  done
  echo "== B = 4, Hq = 32, Hkv = 8"; SPARSEK_BENCH_SHAPE=4,32,8 bash bench/kernel_breakdown.sh 16384 2>&1 | head -3
  echo "== standalone topk / threshold at 65536 vs their write floors"
  for s in normal equal two; do
    SPARSEK_BENCH_SCORES=$s timeout 300 "$D/gpu-selection-bench" 65536 5 check
  done
fi
