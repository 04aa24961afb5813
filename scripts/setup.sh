#!/usr/bin/env bash
# Installs every Debian package sparsek needs, skipping what is already there.
# Idempotent: safe to run on every build.
set -euo pipefail

PACKAGES=(
  # Toolchain and build.
  cmake ninja-build g++
  # LLVM/MLIR 22: headers, libraries, CMake packages, mlir-tblgen, FileCheck, lit.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # Unit tests.
  libgtest-dev
  # Python tests and tooling (Debian's interpreter, /usr/bin/python3), the
  # Python package's tests (torch 1.13, CPU) and its pip install check.
  python3 python3-numpy python3-pytest python3-psutil python3-torch
  python3-pip python3-venv python3-setuptools python3-wheel
  # An optimised BLAS for torch and numpy: Debian's default libblas3 is the
  # reference implementation, about 10x slower on the CPU training example.
  libopenblas0-pthread
  # Sanitizer build and fuzzer (scripts/test.sh steps 2 and 3).
  clang-22 libclang-rt-22-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
