#!/usr/bin/env bash
# Runs, on the device machine, the GPU checks that scripts/device-build.sh
# built into .device/, and prints a summary table last.
# Device tool: run with carry [".device"], command "bash scripts/device-check.sh".
# QUICK=1 skips the large shapes and the slow sanitizer runs.
set -uo pipefail
cd "$(dirname "$0")/.."
# D=.device, the grid driver and the kernel pack unpacked.
source bench/device_common.sh
results=()
run() { # name, command...
  local name=$1; shift
  local log
  log=$("$@" 2>&1); local rc=$?
  echo "---- $name (rc=$rc)"; echo "$log" | tail -40
  results+=("$(printf '%-44s %s' "$name" "$([ $rc -eq 0 ] && echo PASS || echo "FAIL rc=$rc")")")
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
run "gpu smoke (MLIR cubin + runtime)" "$D/gpu-smoke"
run "example layer on the GPU vs reference" "$D/run-layer-cuda"
run "dlopen of a --target=cuda .so, run" "$D/gpu-dlopen" "$D/liblayer_cuda.so"
run "every op on the GPU vs reference" "$D/gpu-ops"
run "grids on the GPU (CPU grid + edge cases)" "$D/gpu-grid" all
run "Python package on the GPU (kernel pack)" env SPARSEK_KERNELS="$D/pack" PYTHONPATH=python python3 python/tests/device_check.py
run "training example's shapes and layouts" env SPARSEK_KERNELS="$D/pack" PYTHONPATH=python python3 python/tests/train_shapes_check.py
if [[ ${QUICK:-0} != 1 ]]; then
  # Large shapes: N = 8192 and 32768, D = 128, bf16, GQA 8:2, k = 256, w = 512.
  run "layer N=8192 vs reference" "$D/gpu-layer-bench" 8192 1 check
  run "layer N=32768 vs reference" "$D/gpu-layer-bench" 32768 1 check
fi
if command -v compute-sanitizer >/dev/null; then
  san() { # tool, program...
    local tool=$1; shift
    compute-sanitizer --tool "$tool" --report-api-errors no --error-exitcode 3 "$@"
  }
  # Every kernel kind (score, mask, threshold, topk, gathered attention,
  # the layer causal and not) under each tool; the smoke test loads a
  # corrupt image on purpose, so API errors are not counted.
  for tool in memcheck racecheck initcheck; do
    run "every op under $tool" san $tool "$D/gpu-ops"
    run "edge-case grid under $tool" san $tool "$D/gpu-grid" edge
  done
  run "gpu smoke under memcheck" san memcheck "$D/gpu-smoke"
  if [[ ${QUICK:-0} != 1 ]]; then
    run "example layer under memcheck" timeout 400 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 "$D/run-layer-cuda"
  fi
fi
echo
echo "==== summary"
printf '%s\n' "${results[@]}"
