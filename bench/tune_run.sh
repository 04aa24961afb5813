#!/usr/bin/env bash
# On the device: times every variant that bench/tune_build.sh built, at the
# given sizes (default 16384 65536), checks each once against the
# reference at the first size, and prints one table (median ms of 3 runs).
# Device tool: carry [".device"], command "bash bench/tune_run.sh [N...]".
set -uo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(16384 65536)
nvidia-smi --query-gpu=name --format=csv,noheader || true
variants=(.device/variants/*/)
rows=()
i=0
for v in "${variants[@]}"; do
  i=$((i + 1))
  name=$(basename "$v")
  echo "[$i/${#variants[@]}] $name ($(cat "$v/options"))" >&2
  check=$([[ ${TUNE_CHECK:-1} == 1 ]] && timeout 120 "$v/gpu-layer-bench" "${sizes[0]}" 1 check 2>&1 | grep -o "check [A-Z]*" | head -1)
  row=$(printf '| %s | %s | %s |' "$name" "$(cat "$v/options")" "${check:-check ?}")
  for n in "${sizes[@]}"; do
    ms=$(timeout 120 "$v/gpu-layer-bench" "$n" 3 2>&1 | awk '/median_ms/ {print $5}')
    row="$row ${ms:-?} |"
  done
  rows+=("$row")
done
printf '| variant | options | check | %s\n' "$(printf '%s ms | ' "${sizes[@]}")"
printf '| --- | --- | --- |%s\n' "$(printf ' ---: |%.0s' "${sizes[@]}")"
printf '%s\n' "${rows[@]}"
