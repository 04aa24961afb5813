#!/usr/bin/env bash
# Builds, on this machine (which has LLVM/MLIR and the CUDA toolkit but no
# GPU), everything the GPU checks run on the device machine, into .device/
# (git-ignored; carried by the device tool). Then, on the device:
#   bash scripts/device-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target sparsek_cuda_runtime sparsek-opt >/dev/null
LLVM_BIN=$(llvm-config-22 --bindir)
OUT=.device
rm -rf "$OUT" && mkdir -p "$OUT"
cp "$BUILD_DIR/lib/libsparsek_cuda_runtime.so" "$OUT/"

# The smoke kernel: lowered with upstream's NVVM pipeline (sm_90 cubin via
# ptxas), host code calling the mgpu* ABI.
"$BUILD_DIR/bin/sparsek-opt" test/Integration/GPU/smoke.mlir \
  --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90 cubin-features=+ptx80 cubin-format=bin" \
  | "$LLVM_BIN/mlir-translate" --mlir-to-llvmir -o "$OUT/smoke.ll"
"$LLVM_BIN/llc" -O2 -filetype=obj -relocation-model=pic "$OUT/smoke.ll" -o "$OUT/smoke.o"
# libcuda exists only on the device: link against the toolkit's stub.
CUDA_STUBS=$(dirname "$(command -v nvcc)")/../lib64/stubs
c++ -std=c++17 -O2 -Iinclude test/Integration/GPU/smoke_driver.cpp "$OUT/smoke.o" \
  -L"$OUT" -lsparsek_cuda_runtime -Wl,-rpath,'$ORIGIN' -L"$CUDA_STUBS" -lcuda \
  -o "$OUT/gpu_smoke"
rm -f "$OUT/smoke.ll" "$OUT/smoke.o"

# The example layer (examples/layer.mlir) through sparsek-nvvm-pipeline,
# run from examples/run_layer.cpp on device buffers, checked against the
# reference library.
cmake --build "$BUILD_DIR" --target sparsek-compile SparseKReference >/dev/null
"$BUILD_DIR/bin/sparsek-compile" --target=cuda examples/layer.mlir -o "$OUT/layer_cuda.o"
c++ -std=c++17 -O2 -DSPARSEK_RUN_ON_GPU -Iinclude examples/run_layer.cpp "$OUT/layer_cuda.o" \
  "$BUILD_DIR/lib/libSparseKReference.a" -L"$OUT" -lsparsek_cuda_runtime \
  -Wl,-rpath,'$ORIGIN' -L"$CUDA_STUBS" -lcuda -o "$OUT/run_layer_cuda"
rm -f "$OUT/layer_cuda.o"

# Every op on its own (test/Integration/GPU/Inputs/ops.mlir).
"$BUILD_DIR/bin/sparsek-compile" --target=cuda test/Integration/GPU/Inputs/ops.mlir -o "$OUT/ops_cuda.o"
c++ -std=c++17 -O2 -Iinclude test/Integration/GPU/ops_driver.cpp "$OUT/ops_cuda.o" \
  "$BUILD_DIR/lib/libSparseKReference.a" -L"$OUT" -lsparsek_cuda_runtime \
  -Wl,-rpath,'$ORIGIN' -L"$CUDA_STUBS" -lcuda -o "$OUT/gpu_ops"
rm -f "$OUT/ops_cuda.o"

# The CPU issue's whole grid (218 cases) as one CUDA library, and the
# driver that regenerates each case's inputs and reference on the device.
"$BUILD_DIR/bin/sparsek-check" --grid=all --emit-module="$OUT/grid.mlir" >/dev/null
"$BUILD_DIR/bin/sparsek-compile" --target=cuda "$OUT/grid.mlir" -o "$OUT/grid_cuda.o"
c++ -std=c++17 -O2 -Iinclude tools/sparsek-gpu-grid/gpu-grid.cpp tools/sparsek-check/Cases.cpp \
  "$OUT/grid_cuda.o" "$BUILD_DIR/lib/libSparseKReference.a" -L"$OUT" -lsparsek_cuda_runtime \
  -Wl,-rpath,'$ORIGIN' -L"$CUDA_STUBS" -lcuda -rdynamic -ldl -o "$OUT/gpu_grid"
rm -f "$OUT/grid.mlir" "$OUT/grid_cuda.o"

# The GPU benchmark layer (bench/gpu_bench.sh).
"$BUILD_DIR/bin/sparsek-compile" --target=cuda bench/layer_gpu.mlir -o "$OUT/layer_gpu.o"
c++ -std=c++17 -O2 -Iinclude bench/gpu_layer_bench.cpp "$OUT/layer_gpu.o" \
  "$BUILD_DIR/lib/libSparseKReference.a" -L"$OUT" -lsparsek_cuda_runtime -Wl,-rpath,'$ORIGIN' -L"$CUDA_STUBS" -lcuda \
  -o "$OUT/gpu_layer_bench"
rm -f "$OUT/layer_gpu.o"
ls -la "$OUT"
