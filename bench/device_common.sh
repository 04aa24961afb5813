# Shared by the device scripts of bench/ (sourced, from the repository
# root): the device folder, the grid driver unpacked, and grids under
# compute-sanitizer.
D=.device
# scripts/device-build.sh ships the grid driver and the kernel pack
# compressed.
if [[ -f $D/gpu-grid.gz && ( ! -x $D/gpu-grid || $D/gpu-grid.gz -nt $D/gpu-grid ) ]]; then
  gunzip -c "$D/gpu-grid.gz" >"$D/gpu-grid" && chmod +x "$D/gpu-grid"
fi
if [[ -f $D/pack.tgz && ! -d $D/pack ]]; then tar xzf "$D/pack.tgz" -C "$D"; fi

# Runs `gpu-grid GRID` plainly (TOOL "none") or under compute-sanitizer's
# TOOL, printing the grid's summary, the sanitizer's and its exit status.
grid_under() { # TOOL GRID
  local tool=$1 grid=$2
  if [[ $tool == none ]]; then
    echo "== gpu-grid $grid"
    timeout 300 "$D/gpu-grid" "$grid" | grep -E "FAIL|passed|bitwise" | tail -12
    return
  fi
  echo "== $tool: gpu-grid $grid"
  timeout 300 compute-sanitizer --tool "$tool" --report-api-errors no --error-exitcode 3 \
    "$D/gpu-grid" "$grid" | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed" | tail -3
  echo "rc=${PIPESTATUS[0]}"
}
