#!/usr/bin/env bash
# Runs the sparsek libFuzzer target (tools/sparsek-fuzz) from a seed corpus
# made of the repository's own modules (test/, examples/, bench/: each
# `// -----` split is one seed), with the sparsek dictionary.
#
#   bash scripts/fuzz.sh [SECONDS | -runs=N] [BUILD_DIR]
#
# BUILD_DIR (default build-san) must be configured with clang and
# -DSPARSEK_BUILD_FUZZER=ON (scripts/test.sh does, with ASan and UBSan).
# New corpus entries go to $BUILD_DIR/fuzz-corpus; a crashing input is
# written to $BUILD_DIR/fuzz-artifacts and the script fails. Keep each
# finding as a regression test under test/Fuzz/. An input that runs longer
# than 60 s is a finding (a timeout); slower-than-usual ones are not: the
# GPU pipeline on the backward benchmark layer (bench/layer_backward_gpu.mlir,
# several MB of kernel IR) takes ~30 s under ASan and UBSan, which
# libFuzzer's default report of units over 10 s turned into a failed CI
# (2026-11-28), so slow units are reported only at the timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-120}
BUILD_DIR=${2:-build-san}
FUZZ="$BUILD_DIR/bin/sparsek-fuzz"
[[ -x $FUZZ ]] || { echo "fuzz.sh: $FUZZ not built (SPARSEK_BUILD_FUZZER=ON)" >&2; exit 2; }

SEEDS="$BUILD_DIR/fuzz-seeds"
CORPUS="$BUILD_DIR/fuzz-corpus"
ARTIFACTS="$BUILD_DIR/fuzz-artifacts"
rm -rf "$SEEDS" && mkdir -p "$SEEDS" "$CORPUS" "$ARTIFACTS"
/usr/bin/python3 - "$SEEDS" <<'PY'
import glob, hashlib, os, sys
out = sys.argv[1]
files = (glob.glob("test/**/*.mlir", recursive=True) + glob.glob("examples/*.mlir")
         + glob.glob("bench/*.mlir") + glob.glob("test/Fuzz/*.mlir"))
for f in sorted(files):
    for part in open(f).read().split("\n// -----\n"):
        lines = [l for l in part.splitlines()
                 if not l.lstrip().startswith(("// RUN", "// CHECK"))]
        text = "\n".join(lines) + "\n"
        name = hashlib.sha1(text.encode()).hexdigest()[:16] + ".mlir"
        with open(os.path.join(out, name), "w") as fh:
            fh.write(text)
PY
echo "fuzz.sh: $(ls "$SEEDS" | wc -l) seeds, limit $LIMIT"

if [[ $LIMIT == -runs=* ]]; then stop=$LIMIT; else stop="-max_total_time=$LIMIT"; fi
# Debian's LLVM is not instrumented: its containers' annotations would
# mislead ASan's container-overflow check.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_container_overflow=0}
set +e
"$FUZZ" "$CORPUS" "$SEEDS" -dict=tools/sparsek-fuzz/sparsek.dict "$stop" \
  -timeout=60 -report_slow_units=60 -rss_limit_mb=8192 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix="$ARTIFACTS/" > "$BUILD_DIR/fuzz.log" 2>&1
status=$?
set -e
# The progress lines are many; show the rest (findings, final stats).
grep -Ev '^#[0-9]+\s+(NEW|REDUCE|pulse)|NEW_FUNC' "$BUILD_DIR/fuzz.log" | tail -40 || true
if [[ $status -ne 0 ]] || ls "$ARTIFACTS" | grep -q .; then
  echo "fuzz.sh: FAILED (status $status); inputs in $ARTIFACTS:" >&2
  ls -la "$ARTIFACTS" >&2
  exit 1
fi
echo "fuzz.sh: no crash"
