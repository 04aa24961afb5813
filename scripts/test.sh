#!/usr/bin/env bash
# Sets up a fresh machine, builds sparsek, and runs every test:
#   1. build/ (the default toolchain): the reference library's unit tests
#      and the lit suite (FileCheck regression tests, execution tests);
#   2. the Python package (python/tests, pytest on Debian's python3 and
#      torch) and `pip install ./python` into a fresh virtual environment;
#   3. build-san/ (clang, ASan + UBSan on sparsek's code): the same lit
#      suite again under the sanitizers;
#   4. the libFuzzer target for a bounded time (FUZZ_SECONDS, default 120)
#      from the repository's modules as seeds.
# Ends with one line "N passed, N failed" over all of them.
# Usage: bash scripts/test.sh   (BUILD_DIR overrides build/; SANITIZERS=0
# skips steps 3 and 4)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

BUILD_DIR=${BUILD_DIR:-build}
SAN_DIR=${SAN_DIR:-build-san}
SANITIZERS=${SANITIZERS:-1}
FUZZ_SECONDS=${FUZZ_SECONDS:-120}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0

# lit's summary of one run ("Passed: N", "Failed: N"; absent when 0).
count() { # log, label
  local n
  n=$(grep -Eo "^ *$2 *: *[0-9]+" "$1" | grep -Eo '[0-9]+' | tail -1 || true)
  echo "${n:-0}"
}

echo "==== 1. build and test ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja
cmake --build "$BUILD_DIR"
set +e
cmake --build "$BUILD_DIR" --target check-sparsek 2>&1 | tee "$logs/main.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
set -e
passed=$(count "$logs/main.log" Passed); failed=$(count "$logs/main.log" Failed)

echo "==== 2. Python package (python/tests)"
set +e
SPARSEK_BUILD_DIR="$PWD/$BUILD_DIR" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  python/tests 2>&1 | tee "$logs/py.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
set -e
# pytest's last line: "38 passed, 2 failed, 1 error in 12.3s".
py_count() { # word regex -> the sum of "N word" on pytest's last line
  tail -1 "$logs/py.log" | awk -v re="^($1)" '{
    for (i = 2; i <= NF; i++) { w = $i; sub(/[,]$/, "", w); if (w ~ re) s += $(i - 1) }
  } END { print s + 0 }'
}
passed=$((passed + $(py_count passed)))
failed=$((failed + $(py_count 'failed|errors?')))
# `pip install ./python` works offline with Debian's pip and setuptools.
venv=$(mktemp -d)
if /usr/bin/python3 -m venv --system-site-packages "$venv" &&
   "$venv/bin/pip" install -q --no-build-isolation --no-index ./python &&
   (cd "$venv" && "$venv/bin/python" -c 'import sparsek, sys; sys.exit(0 if sparsek.__file__.startswith(sys.prefix) else 1)'); then
  echo "pip install ./python: PASS"; passed=$((passed + 1))
else
  echo "pip install ./python: FAIL"; failed=$((failed + 1)); status=1
fi
rm -rf "$venv"

if [[ $SANITIZERS == 1 ]]; then
  echo "==== 3. ASan + UBSan build and test ($SAN_DIR)"
  CC=clang-22 CXX=clang++-22 cmake -S . -B "$SAN_DIR" -G Ninja \
    -DSPARSEK_SANITIZE=address,undefined -DSPARSEK_BUILD_FUZZER=ON
  cmake --build "$SAN_DIR"
  # Debian's LLVM/MLIR is not instrumented: its containers' annotations
  # would mislead ASan's container-overflow check.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_container_overflow=0}
  set +e
  cmake --build "$SAN_DIR" --target check-sparsek 2>&1 | tee "$logs/san.log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  set -e
  passed=$((passed + $(count "$logs/san.log" Passed)))
  failed=$((failed + $(count "$logs/san.log" Failed)))

  echo "==== 4. fuzzing for ${FUZZ_SECONDS} s"
  if bash scripts/fuzz.sh "$FUZZ_SECONDS" "$SAN_DIR"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); status=1
  fi
fi

echo
echo "$passed passed, $failed failed"
exit "$status"
