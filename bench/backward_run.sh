#!/usr/bin/env bash
# The GPU backward (issue 11) on the device machine, after
# scripts/device-build.sh here. `check`: the tensor-core grid on the GPU
# (its backward cases run the backward kernel), compute-sanitizer memcheck
# and racecheck on it, and the benchmark layer's gradients against the
# reference at 4K (random and all-equal scores) and 8K. `time`: ncu's
# per-kernel breakdown at 64K, the backward at 4K/16K/64K, the forward
# layer at the same sizes, and the peers' forward + backward in the same
# call (bench/gpu_peers.py --backward). `compare`: every build under
# .device/variants/<name>/ (gpu-backward-bench with its
# libsparsek_cuda_runtime.so beside it) against .device's, interleaved:
# the backward's and the forward layer's wall time at 4K/16K/64K and the
# backward kernels at 64K (ncu). `lse`: training's pair (the forward that
# also returns the log-sum-exp, the backward given it;
# SPARSEK_BENCH_LSE=1): the tensor-core grid (its f16 cases take that
# path), the gradients against the reference at 4K (random and all-equal
# scores) and of the training step in one call (forward + backward, one
# block selection; SPARSEK_BENCH_LSE=step), then both backwards, the step
# and the forward at 4K/16K/64K, twice, interleaved, and ncu's breakdown
# of the pair at 64K. `det`: the deterministic backward (the
# `deterministic` attribute; SPARSEK_BENCH_DET=1): the tensor-core grid
# (its deterministic cases run three times and must give the same bits)
# plain and under memcheck, racecheck and initcheck, the gradients against
# the reference at 4K (random and equal scores, plain and given lse) and
# 8K, against the default backward's at 16K and 64K (random and equal
# scores: chunks of several query blocks), the same bits over three more
# runs at 64K, then both backwards
# (plain and given lse) at 4K/16K/64K, interleaved, and ncu's breakdown
# of the deterministic one at 64K.
# `blocks` (`blocks-check`, `blocks-time`: its halves): training's pair in
# block form (SPARSEK_BENCH_LSE=blocks: the forward returns its block
# selection with out and lse, sparsek.block_attention_backward is given
# them and selects nothing): the tensor-core grid (its block-form cases)
# plain and under memcheck and racecheck, the gradients against the
# reference at 4K (random and equal scores) and 8K, against the
# lse-form backward's at 16K and 64K, then the lse-form and block-form
# pairs at 4K/16K/64K, twice, interleaved, and ncu's breakdown of the
# block-form pair at 64K.
# Device tool: carry [".device"], command "bash bench/backward_run.sh [check|time|compare|lse|det|blocks|all]".
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
source bench/device_common.sh
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true
# ncu's per-kernel breakdown of build DIR's backward at 64K (GPU clocks).
breakdown() { # DIR
  echo "== $1: backward kernels at 65536 (ncu, the GPU's own clocks)"
  LD_LIBRARY_PATH=$1 BENCH=$1/gpu-backward-bench NCU_FLAGS="--clock-control none" \
    LAUNCHES=${LAUNCHES:-0} bash bench/kernel_breakdown.sh 65536 2>&1 | head -${LINES_MAX:-12}
}
if [[ $mode == check || $mode == all ]]; then
  grid_under none tensorcore
  for tool in memcheck racecheck; do grid_under "$tool" tensorcore; done
  timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" 4096 1 check
  timeout 400 "$D/gpu-backward-bench" 8192 1 check
fi
if [[ $mode == compare ]]; then
  builds=("$D")
  for v in "$D"/variants/*/; do [[ -x $v/gpu-backward-bench ]] && builds+=("${v%/}"); done
  for round in 1 2; do
    for n in 4096 16384 65536; do
      for d in "${builds[@]}"; do
        echo "-- $d (round $round)"
        LD_LIBRARY_PATH=$d timeout 300 "$d/gpu-backward-bench" $n 5
        [[ -x $d/gpu-layer-bench ]] && LD_LIBRARY_PATH=$d timeout 300 "$d/gpu-layer-bench" $n 5
      done
    done
  done
  for d in "${builds[@]}"; do breakdown "$d"; done
fi
if [[ $mode == lse || $mode == all ]]; then
  [[ $mode == lse ]] && grid_under none tensorcore
  SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_LSE=1 SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_LSE=step timeout 300 "$D/gpu-backward-bench" 4096 1 check
  for round in 1 2; do
    for n in 4096 16384 65536; do
      echo "-- round $round"
      timeout 300 "$D/gpu-backward-bench" $n 5
      SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" $n 5
      SPARSEK_BENCH_LSE=step timeout 300 "$D/gpu-backward-bench" $n 5
      timeout 300 "$D/gpu-layer-bench" $n 5
    done
  done
  echo "== the pair (forward with lse, backward given it)"
  # (Both calls of the pair are in the second half of its launches: read
  # the kernels from the listing.)
  SPARSEK_BENCH_LSE=1 LAUNCHES=1 LINES_MAX=120 breakdown "$D"
fi
if [[ $mode == det || $mode == all ]]; then
  grid_under none tensorcore
  for tool in memcheck racecheck initcheck; do grid_under "$tool" tensorcore; done
  SPARSEK_BENCH_DET=1 timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_DET=1 SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_DET=1 SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_DET=1 timeout 400 "$D/gpu-backward-bench" 8192 1 check
  # (At 4K and 8K a chunk is one query block; at 16K and 64K, 2 and 8.)
  for n in 16384 65536; do
    SPARSEK_BENCH_DET=1 SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" $n 1 versus
    SPARSEK_BENCH_DET=1 SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" $n 1 versus
  done
  SPARSEK_BENCH_DET=1 SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" 65536 1 repeat
  timeout 300 "$D/gpu-backward-bench" 65536 1 repeat
  for n in 4096 16384 65536; do
    for lse in 0 1; do
      SPARSEK_BENCH_LSE=$lse timeout 300 "$D/gpu-backward-bench" $n 5
      SPARSEK_BENCH_LSE=$lse SPARSEK_BENCH_DET=1 timeout 300 "$D/gpu-backward-bench" $n 5
    done
  done
  echo "== the deterministic backward given lse (second half of the launches)"
  SPARSEK_BENCH_DET=1 SPARSEK_BENCH_LSE=1 LAUNCHES=1 LINES_MAX=120 breakdown "$D"
fi
if [[ $mode == blocks || $mode == blocks-check ]]; then
  grid_under none tensorcore
  for tool in memcheck racecheck; do grid_under "$tool" tensorcore; done
  SPARSEK_BENCH_LSE=blocks timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_LSE=blocks SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" 4096 1 check
  SPARSEK_BENCH_LSE=blocks timeout 400 "$D/gpu-backward-bench" 8192 1 check
  for n in 16384 65536; do
    SPARSEK_BENCH_LSE=blocks timeout 300 "$D/gpu-backward-bench" $n 1 versus
    SPARSEK_BENCH_LSE=blocks SPARSEK_BENCH_SCORES=equal timeout 300 "$D/gpu-backward-bench" $n 1 versus
  done
fi
if [[ $mode == blocks || $mode == blocks-time ]]; then
  for round in 1 2; do
    for n in 4096 16384 65536; do
      echo "-- round $round"
      SPARSEK_BENCH_LSE=1 timeout 300 "$D/gpu-backward-bench" $n 5
      SPARSEK_BENCH_LSE=blocks timeout 300 "$D/gpu-backward-bench" $n 5
    done
  done
  echo "== the pair in block form (forward with lse and selection, backward given them)"
  SPARSEK_BENCH_LSE=blocks LAUNCHES=1 LINES_MAX=120 breakdown "$D"
fi
if [[ $mode == time || $mode == all ]]; then
  breakdown "$D"
  echo "== backward, then forward, wall time"
  for n in 4096 16384 65536; do timeout 300 "$D/gpu-backward-bench" $n 5; done
  for n in 4096 16384 65536; do timeout 300 "$D/gpu-layer-bench" $n 5; done
  echo "== peers, forward + backward"
  timeout 500 python3 bench/gpu_peers.py --backward 4096 16384 65536
fi
