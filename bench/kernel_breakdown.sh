#!/usr/bin/env bash
# Per-kernel GPU time of one call of the sparsek GPU layer (on the device
# machine, after scripts/device-build.sh here): ncu's gpu__time_duration
# of every launch of the second (timed) call, in launch order, with grid and
# block sizes, and the total. Kernels of one module share a name, so the
# launch order (matched against the lowered IR) says which is which.
#   bash bench/kernel_breakdown.sh [N]   (default 16384)
# With LAUNCHES=1, also every launch of the timed call in order; BENCH and
# NCU_FLAGS: see below.
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-16384}
# BENCH: another build of the benchmark (default .device/gpu-layer-bench);
# NCU_FLAGS: more ncu options (e.g. "--clock-control none").
ncu ${NCU_FLAGS:-} --metrics gpu__time_duration.sum --csv --print-units base \
  "${BENCH:-.device/gpu-layer-bench}" "$n" 1 2>/dev/null >/tmp/ncu.csv
python3 - "$n" <<'PY'
import csv, os, sys
rows = [r for r in csv.reader(open('/tmp/ncu.csv')) if len(r) > 10]
hdr, rows = rows[0], rows[1:]
ix = {h: i for i, h in enumerate(hdr)}
launches = [(int(r[ix['ID']]), r[ix['Grid Size']], r[ix['Block Size']],
             float(r[ix['Metric Value']].replace(',', '')) / 1e3) for r in rows
            if r[ix['Metric Name']] == 'gpu__time_duration.sum']
half = len(launches) // 2          # warm-up call, then the timed call
timed = launches[half:]
print(f"N = {sys.argv[1]}: {len(timed)} launches, "
      f"{sum(t for *_, t in timed) / 1e3:.3f} ms of kernel time")
groups = {}
for i, (_, g, b, t) in enumerate(timed):
    groups.setdefault((g, b), []).append(t)
# The tensor-core attention kernel is the last launch with 256 threads per
# block (8 warps of 16 queries; the selection's union_blocks kernel, before
# it, also has 256, the merge tiles 1024, the foralls 128).
wide = [t for _, _, b, t in timed if b.strip("()").split(",")[0].strip() == "256"]
att = wide[-1] if wide else 0.0
print(f"  attention (the last 256-thread launch): {att / 1e3:.3f} ms; selection and the rest: "
      f"{(sum(t for *_, t in timed) - att) / 1e3:.3f} ms")
order = []
for i, (_, g, b, t) in enumerate(timed):
    if (g, b) not in order:
        order.append((g, b))
for (g, b), ts in sorted(groups.items(), key=lambda kv: -sum(kv[1])):
    print(f"  grid {g:>18} block {b:>12}: {len(ts):4d} launches, "
          f"{sum(ts) / 1e3:9.3f} ms (first at launch "
          f"{[i for i, l in enumerate(timed) if (l[1], l[2]) == (g, b)][0]})")
if os.environ.get("LAUNCHES") == "1":
    for i, (_, g, b, t) in enumerate(timed):
        print(f"  launch {i:3d} grid {g:>18} block {b:>12}: {t:9.1f} us")
PY
