#!/usr/bin/env bash
# GPU benchmark, on the device machine (after scripts/device-build.sh here):
# the sparsek GPU layer and its peers (bench/gpu_peers.py) in one run.
# Device tool: carry [".device"], command "bash bench/gpu_bench.sh".
set -uo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(4096 16384 65536)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
for n in "${sizes[@]}"; do
  timeout 300 .device/gpu-layer-bench "$n" 3 || echo "sparsek_gpu N $n did not finish"
done
PYTHONUNBUFFERED=1 python3 bench/gpu_peers.py "${sizes[@]}"
