#!/usr/bin/env bash
# The main job: set up, build, and compile an example SparseK layer with
# sparsek-opt. Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" >/dev/null

echo "== examples/layer.mlir, decomposed by sparsek-opt --sparsek-decompose"
"$BUILD_DIR/bin/sparsek-opt" examples/layer.mlir --sparsek-decompose
