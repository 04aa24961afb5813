#!/usr/bin/env bash
# Runs, on the device machine, the GPU checks that scripts/device-build.sh
# built into .device/, and prints a summary table last.
# Device tool: run with carry [".device"], command "bash scripts/device-check.sh".
set -uo pipefail
cd "$(dirname "$0")/.."
D=.device
results=()
run() { # name, command...
  local name=$1; shift
  local log
  log=$("$@" 2>&1); local rc=$?
  echo "---- $name (rc=$rc)"; echo "$log"
  results+=("$(printf '%-34s %s' "$name" "$([ $rc -eq 0 ] && echo PASS || echo "FAIL rc=$rc")")")
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
run "gpu smoke (MLIR cubin + runtime)" "$D/gpu_smoke"
run "example layer on the GPU vs reference" "$D/run_layer_cuda"
run "every op on the GPU vs reference" "$D/gpu_ops"
run "CPU issue's grid on the GPU (218)" "$D/gpu_grid" all
# Large shapes: N = 8192 and 32768, D = 128, bf16, GQA 8:2, k = 256, w = 512.
run "layer N=8192 vs reference" "$D/gpu_layer_bench" 8192 1 check
run "layer N=32768 vs reference" "$D/gpu_layer_bench" 32768 1 check
if command -v compute-sanitizer >/dev/null; then
  # The smoke test loads a corrupt image on purpose: count memory errors only.
  run "gpu smoke under memcheck" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 "$D/gpu_smoke"
  run "every op under memcheck" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 "$D/gpu_ops"
  run "example layer under memcheck" timeout 400 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 "$D/run_layer_cuda"
fi
echo
echo "==== summary"
printf '%s\n' "${results[@]}"
