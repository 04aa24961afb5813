#!/usr/bin/env bash
# Decoding (issue 12) on the device machine, after scripts/device-build.sh
# here. `check`: the decode grid on the GPU (its f16/bf16, D = 64/128 cases
# run the decode kernels; the others the generic lowering), under
# compute-sanitizer memcheck and racecheck, and the benchmark's layer
# (Hq 32, Hkv 8, D 128, k 256, w 512) against the reference decoder,
# also over 10,000 steps.
# `time`: per-kernel times of a step (ncu), the step at B in {1, 16, 64}
# and contexts of 8K, 32K, 128K, then the peers in the same call
# (bench/decode_peers.py: dense SDPA decoding, a 512-token window, the
# copy bandwidth); the general-layout attention kernel beside the tile
# kernel (SPARSEK_DECODE_MISALIGN=1) in both modes.
# `source` (not in `all`): ncu's warp-state samples per SASS instruction
# of the fused kernel at B 64 (stall reasons, the most-sampled lines).
# `profile` (not in `all`): ncu's speed-of-light, occupancy, scheduler and
# warp-state sections of one step's kernels at B 64 (the fused update +
# attention, then the lengths' launch) and B 16 (update, attention,
# combine), context 8K: where the step's time goes.
# Device tool: carry [".device"], command "bash bench/decode_run.sh [check|time|all|profile|source]".
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
source bench/device_common.sh
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true
if [[ $mode == check || $mode == all ]]; then
  grid_under none decode
  for tool in memcheck racecheck; do grid_under "$tool" decode; done
  timeout 300 "$D/gpu-decode-bench" 2 4096 16 check
  timeout 300 "$D/gpu-decode-bench" 1 1500 40 check
  # 10,000 steps, compared at ~100 sampled steps (the reference runs all).
  timeout 300 "$D/gpu-decode-bench" 1 2048 10000 check
  # One split per row (B Hkv > 256 rows): the update fused into the
  # attention's launch; also under racecheck and memcheck.
  timeout 300 "$D/gpu-decode-bench" 64 2048 40 check
  timeout 300 "$D/gpu-decode-bench" 40 1000 30 check
  for tool in racecheck memcheck; do
    echo "== $tool: gpu-decode-bench 40 512 2 check"
    timeout 300 compute-sanitizer --tool "$tool" --report-api-errors no --error-exitcode 3 \
      "$D/gpu-decode-bench" 40 512 2 check | grep -E "SUMMARY|PASS|FAIL" | tail -2
  done
  # The general-layout attention kernel (key/value rows off alignment).
  SPARSEK_DECODE_MISALIGN=1 timeout 300 "$D/gpu-decode-bench" 2 4096 16 check
fi
if [[ $mode == time || $mode == all ]]; then
  echo "== kernels of 4 steps at B = 64, context 8192 (ncu, the GPU's own clocks)"
  ncu --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
    "$D/gpu-decode-bench" 64 8192 4 2>/dev/null >/tmp/ncu-decode.csv
  python3 - <<'PY'
import csv
rows = [r for r in csv.reader(open('/tmp/ncu-decode.csv')) if len(r) > 10]
hdr, rows = rows[0], rows[1:]
ix = {h: i for i, h in enumerate(hdr)}
ts = [(r[ix['Grid Size']], r[ix['Block Size']], float(r[ix['Metric Value']].replace(',', '')) / 1e3)
      for r in rows if r[ix['Metric Name']] == 'gpu__time_duration.sum'
      and r[ix['Kernel Name']].startswith('sparsek_decode_steps')]
# The 4 steps' kernels (the prefill's are named sparsek_decode_prefill_*):
# at B = 64 the fused update + attention and the lengths' launch; at
# smaller batches the update, the attention and the combine.
per = len(ts) // 4
for g, b, t in ts[-per:]:
    print(f"  grid {g} block {b}: {t:.1f} us")
print(f"  a step's kernels: {sum(t for *_, t in ts) / 4:.1f} us")
PY
  echo "== sparsek decode steps (64 steps per call, host time / step)"
  for b in 1 16 64; do
    for c in 8192 32768 131072; do timeout 300 "$D/gpu-decode-bench" $b $c 64; done
  done
  echo "== the general-layout attention kernel (warp per query head) on a misaligned state"
  for b in 1 16 64; do
    SPARSEK_DECODE_MISALIGN=1 timeout 300 "$D/gpu-decode-bench" $b 8192 64
  done
  echo "== peers"
  timeout 600 python3 bench/decode_peers.py
fi
if [[ $mode == profile ]]; then
  # Kernels of the third step (the prefill's are named
  # sparsek_decode_prefill_*): 2 launches a step at B 64, 3 at B 16.
  for bk in "64 2" "16 3"; do
    set -- $bk
    echo "== ncu sections: B $1, context 8192, step 3's kernels"
    ncu --clock-control none --kernel-name regex:sparsek_decode_steps \
      --launch-skip $((2 * $2)) --launch-count "$2" \
      --section SpeedOfLight --section Occupancy --section LaunchStats \
      --section SchedulerStats --section WarpStateStats \
      --metrics "$(printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' \
        long_scoreboard short_scoreboard barrier membar wait lg_throttle \
        mio_throttle math_pipe_throttle no_instruction branch_resolving \
        dispatch_stall drain sleeping selected not_selected | sed 's/,$//')" \
      "$D/gpu-decode-bench" "$1" 8192 4 2>&1 |
      grep -vE "^==PROF==|^    ---|^\s*$|OPT |Section: " | grep -E "sparsek_|Duration|Throughput|Registers|Shared Memory Config|Dynamic Shared|Block Limit|Achieved|Theoretical Occ|Waves|Eligible|Issued Warp|No Eligible|Warp Cycles|Stall|Active Warps|stalled" | head -120
  done
fi
if [[ $mode == source ]]; then
  # Warp-state samples per SASS instruction of step 3's fused kernel at
  # B 64, context 8192 (ncu's source counters): the stall reasons' shares
  # and the most-sampled instructions (bench/NOTES.md run 134 found the
  # slots' position loads this way).
  echo "== ncu source counters: B 64, context 8192, step 3's fused kernel"
  ncu --clock-control none --kernel-name regex:sparsek_decode_steps \
    --launch-skip 4 --launch-count 1 --section WarpStateStats --section SourceCounters \
    --page source --print-source sass --csv "$D/gpu-decode-bench" 64 8192 4 \
    >/tmp/ncu-decode-source.csv 2>/dev/null
  python3 - <<'PY'
import collections, csv
rows = list(csv.reader(open('/tmp/ncu-decode-source.csv')))
at = next(i for i, r in enumerate(rows) if r and r[0] == 'Address')
hdr, data = rows[at], [r for r in rows[at + 1:] if len(r) == len(rows[at])]
ix = {h: i for i, h in enumerate(hdr)}
col = 'Warp Stall Sampling (All Samples)'
num = lambda r, h: int(r[ix[h]] or 0)
total = sum(num(r, col) for r in data) or 1
reasons = [h for h in hdr if h.startswith('stall_') and 'Not Issued' not in h]
share = collections.Counter({h: sum(num(r, h) for r in data) for h in reasons})
print(f"{len(data)} instructions, {total} samples")
for h, v in share.most_common(8):
    print(f"  {h[6:]:20s} {100 * v / total:5.1f}%")
for r in sorted(data, key=lambda r: -num(r, col))[:25]:
    top = max(reasons, key=lambda h: num(r, h))
    print(f"  {100 * num(r, col) / total:5.1f}%  {top[6:]:15s} x{r[ix['Instructions Executed']]:>6s}  {r[1].strip()[:70]}")
PY
fi
