#!/usr/bin/env bash
# Builds variants of the GPU benchmark layer (bench/layer_gpu.mlir) with
# different sparsek-nvvm-pipeline options, here (no GPU needed), into
# .device/variants/<name>/gpu-layer-bench; bench/tune_run.sh times them all
# on the device in one call. Run after scripts/device-build.sh (which
# creates .device/ and the benchmark's driver object).
#   bash bench/tune_build.sh "bk32:key-tile=32" "bk16:key-tile=16" ...
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
driver="$BUILD_DIR/device/bench/CMakeFiles/gpu-layer-bench.dir/gpu_layer_bench.cpp.o"
[[ -f $driver ]] || { echo "no $driver: run scripts/device-build.sh first" >&2; exit 1; }
mkdir -p .device/variants
for spec in "$@"; do
  name=${spec%%:*}
  opts=${spec#*:}
  out=.device/variants/$name
  mkdir -p "$out"
  echo "$opts" >"$out/options"
  start=$(date +%s.%N)
  "$BUILD_DIR/bin/sparsek-compile" --target=cuda --gpu-options="$opts" \
    bench/layer_gpu.mlir -o "$out/layer_gpu.o"
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
  c++ "$out/layer_gpu.o" "$driver" -o "$out/gpu-layer-bench" \
    -Wl,-rpath,'$ORIGIN/../..' "$BUILD_DIR/lib/libsparsek_cuda_runtime.so" \
    "$BUILD_DIR/lib/libSparseKReference.a"
  rm "$out/layer_gpu.o"
  printf '%-12s %-40s compiled in %.1f s\n' "$name" "$opts" "$secs"
done
