#!/usr/bin/env bash
# The tensor-core attention kernel on the device machine (issue 9), after
# scripts/device-build.sh here. `check`: the kernel's grids on the GPU
# (tensorcore, attention), compute-sanitizer racecheck and memcheck on the
# tensorcore grid, the benchmark layer against the reference on every
# output at N = 65536 (random and all-equal scores) and at N = 8192 for
# every layout of heads per block (Hq / Hkv = 1, 2, 3, 4, 8). `time`: ncu's
# per-kernel breakdown at 64K (base clocks, then the GPU's own clocks) and
# the layer beside its peers (bench/gpu_bench.sh) at 4K/16K/64K. With a
# previous build in .device/base/gpu-layer-bench, `time` also measures it in
# the same call (same card) for an A/B, and so are the candidates of
# `bench/tune.py build --kind attention --out .device/tune` in
# .device/tune/attention/.
# Device tool: carry [".device"], command "bash bench/attention_run.sh [check|time|all]".
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
source bench/device_common.sh
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true
if [[ $mode == check || $mode == all ]]; then
  for g in tensorcore attention; do grid_under none "$g"; done
  for tool in racecheck memcheck; do grid_under "$tool" tensorcore; done
  for s in normal equal; do
    SPARSEK_BENCH_SCORES=$s timeout 300 "$D/gpu-layer-bench" 65536 1 check | tail -2
  done
  for shape in 1,8,8 1,8,4 1,6,2 2,16,2 1,32,4; do
    SPARSEK_BENCH_SHAPE=$shape timeout 300 "$D/gpu-layer-bench" 8192 1 check | tail -2
  done
fi
if [[ $mode == time || $mode == all ]]; then
  builds=("$D/gpu-layer-bench")
  [[ -x $D/base/gpu-layer-bench ]] && builds+=("$D/base/gpu-layer-bench")
  for v in "$D"/tune/attention/*/gpu-layer-bench; do [[ -x $v ]] && builds+=("$v"); done
  for bench in "${builds[@]}"; do
    echo "== $bench: kernels at 65536 (ncu base clocks, then --clock-control none)"
    LD_LIBRARY_PATH=$D BENCH=$bench bash bench/kernel_breakdown.sh 65536 2>&1 | head -3
    LD_LIBRARY_PATH=$D BENCH=$bench NCU_FLAGS="--clock-control none" \
      bash bench/kernel_breakdown.sh 65536 2>&1 | head -3
  done
  for bench in "${builds[@]:1}"; do
    echo "== $bench: layer wall time"
    for n in 4096 16384 65536; do LD_LIBRARY_PATH=$D timeout 300 "$bench" $n 5; done
  done
  echo "== this build and the peers"
  bash bench/gpu_bench.sh 4096 16384 65536
fi
