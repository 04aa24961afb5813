#!/usr/bin/env bash
# The main job: set up, build, compile the example SparseK layer
# (examples/layer.mlir) with sparsek-opt, run it on random inputs, and show
# the result against the reference library.  Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" >/dev/null
BIN=$BUILD_DIR/bin
LLVM_BIN=$(llvm-config-22 --bindir)
OUT=$BUILD_DIR/demo
mkdir -p "$OUT"

echo "== 1. examples/layer.mlir: one sparsek.attention op; --sparsek-decompose shows its stages"
"$BIN/sparsek-opt" examples/layer.mlir --sparsek-decompose | grep -o '= sparsek\.[a-z_]*[^:]*'

echo
echo "== 2. sparsek-opt --sparsek-cpu-pipeline lowers it to the LLVM dialect"
"$BIN/sparsek-opt" examples/layer.mlir --sparsek-cpu-pipeline="emit-c-interface=1" \
  -o "$OUT/layer.llvm.mlir"
echo "   $OUT/layer.llvm.mlir: $(wc -l <"$OUT/layer.llvm.mlir") lines, no sparsek/linalg/tensor left:" \
  "$(grep -cE 'sparsek\.|linalg\.|tensor\.' "$OUT/layer.llvm.mlir" || true) matches"

echo
echo "== 3. LLVM IR -> object -> shared library (sparsek-compile does 2-3 in one step)"
"$LLVM_BIN/mlir-translate" --mlir-to-llvmir "$OUT/layer.llvm.mlir" -o "$OUT/layer.ll"
"$LLVM_BIN/llc" -O3 -filetype=obj -relocation-model=pic "$OUT/layer.ll" -o "$OUT/layer.o"
cc -shared "$OUT/layer.o" -o "$OUT/layer.so" -lm
echo "   $OUT/layer.so exports: $(nm -D --defined-only "$OUT/layer.so" | grep -o '_mlir_ciface_sparsek_[a-z_]*')"

echo
echo "== 4. Run it from C++ (examples/run_layer.cpp) on random inputs and compare with the reference"
c++ -std=c++17 -O2 -Iinclude examples/run_layer.cpp "$OUT/layer.so" \
  "$BUILD_DIR/lib/libSparseKReference.a" -Wl,-rpath,"$(cd "$OUT" && pwd)" -o "$OUT/run_layer"
"$OUT/run_layer"
