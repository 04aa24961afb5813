#!/usr/bin/env bash
# Sets up a fresh machine, builds sparsek, and runs every test: the reference
# library's unit tests and the lit suite (FileCheck regression tests and
# execution tests). Usage: bash scripts/test.sh   (BUILD_DIR overrides build/)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja
cmake --build "$BUILD_DIR"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cmake --build "$BUILD_DIR" --target check-sparsek 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line: "N passed, N failed".
passed=$(grep -Eo '^ *Passed *: *[0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
failed=$(grep -Eo '^ *Failed *: *[0-9]+' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
echo
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
