#!/usr/bin/env bash
# Builds, on this machine (which has LLVM/MLIR and the CUDA toolkit but no
# GPU), everything the GPU checks run on the device machine: the CMake
# target `sparsek-device` (cmake/SparseKDevice.cmake: every program's
# kernels compiled by sparsek-compile --target=cuda), copied into .device/
# (git-ignored; carried by the device tool). Then, on the device:
#   bash scripts/device-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target sparsek-device
rm -rf .device && mkdir -p .device
cp "$BUILD_DIR"/bin/device/* .device/
# The grid driver holds every grid case's kernels; compressed, so that
# .device stays under the device tool's 64 MiB carry (device-check.sh
# unpacks it).
gzip -9 -f .device/gpu-grid
# A kernel pack for the Python package's device check (gradients at
# window 8; window 64 runs forward only: graphs, the Hugging Face checks) ...
SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
  -o .device/pack --target cuda --target cpu --dtype f32 --dtype bf16 --topk 4 --window 8 --backward --deterministic >/dev/null
SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
  -o .device/pack --target cuda --target cpu --dtype f32 --dtype bf16 --topk 4 --window 64 >/dev/null
# ... examples/python/quickstart.py's (a layer, then a block it trains) ...
for cfg in "--topk 16 --window 32" "--topk 8 --window 16 --backward"; do
  # shellcheck disable=SC2086
  SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
    -o .device/pack --target cuda --dtype f32 $cfg >/dev/null
done
# ... the decoder's (python/tests/device_check.py: sparsek.decode on CUDA
# against the CPU decoder) ...
SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
  -o .device/pack --target cuda --target cpu --dtype bf16 --topk 8 --window 16 --decode-head-dim 64 >/dev/null
# ... the training demo's SparseK model (examples/train/train.py: bf16,
# k 64, w 512, with gradients) ...
SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
  -o .device/pack --target cuda --dtype bf16 --topk 64 --window 512 --backward >/dev/null
# ... and the benchmark layer's configuration (bench/python_bench.py, with
# --backward its forward + backward through autograd).
SPARSEK_COMPILE="$BUILD_DIR/bin/sparsek-compile" PYTHONPATH=python /usr/bin/python3 -m sparsek.pack \
  -o .device/pack --target cuda --dtype bf16 --topk 256 --window 512 --backward >/dev/null
# The pack (~44 MB of shared objects) ships compressed too, so that .device
# fits the carry; device-check.sh and bench/device_common.sh unpack it.
tar czf .device/pack.tgz -C .device pack && rm -rf .device/pack
ls -la .device
