#!/usr/bin/env bash
# CPU benchmark: the compiled SparseK layer and its gradients
# (bench/layer_dynamic.mlir, B = 1, Hq = 2, Hkv = 1, D = 64, f32, k = 64,
# w = 128) at N = M = 4K, 16K and 64K tokens: median time of 3 runs and
# peak memory, one process per size. Linear cost shows as time and memory
# growing ~4x per 4x tokens.
# Usage: bash bench/cpu_scaling.sh [sizes...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target sparsek-compile >/dev/null
OUT=$BUILD_DIR/bench
mkdir -p "$OUT"
"$BUILD_DIR/bin/sparsek-compile" bench/layer_dynamic.mlir -o "$OUT/layer_dynamic.so"
c++ -std=c++17 -O2 -Iinclude bench/cpu_bench.cpp "$OUT/layer_dynamic.so" \
  -Wl,-rpath,"$(cd "$OUT" && pwd)" -o "$OUT/cpu_bench"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(4096 16384 65536)
printf '%9s %8s %12s %14s %10s\n' pass N median_s peak_rss_mib "s/Ktoken"
for pass in forward backward; do
  for n in "${sizes[@]}"; do
    read -r _ nn _ t _ mem _ _ < <("$OUT/cpu_bench" "$n" 3 "$pass")
    awk -v p="$pass" -v n="$nn" -v t="$t" -v m="$mem" 'BEGIN { printf "%9s %8s %12s %14s %10.4f\n", p, n, t, m, t * 1024 / n }'
  done
done
