//===- CudaRuntime.cpp - sparsek's CUDA runtime library ---------*- C++ -*-===//
//
// The `mgpu*` ABI that MLIR's gpu-to-llvm lowering emits calls to, on the
// CUDA driver API only (no CUDA runtime API, no LLVM). Debian's MLIR ships
// no CUDA runtime wrappers; this is ours, and framework users link it.
//
// Every CUDA call goes through check(): a failure is printed with its CUDA
// error name and the call that failed, and kept as a sticky status
// (sparsek-c/CudaRuntime.h). After a failure, calls that would use a broken
// object (a null module or function) are skipped rather than crashing.
//
// All work runs in the primary context of the default device (0, or the one
// set by mgpuSetDefaultDevice), made current on first use in each thread.
//
//===----------------------------------------------------------------------===//

#include "sparsek-c/CudaRuntime.h"

#include <cuda.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

std::atomic<int32_t> stickyStatus{CUDA_SUCCESS};
std::atomic<int32_t> verbose{1};
std::atomic<int32_t> defaultDevice{0};

bool check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  int32_t expected = CUDA_SUCCESS;
  stickyStatus.compare_exchange_strong(expected, static_cast<int32_t>(r));
  if (verbose.load()) {
    const char *name = nullptr, *desc = nullptr;
    cuGetErrorName(r, &name);
    cuGetErrorString(r, &desc);
    std::fprintf(stderr, "sparsek-cuda-runtime: %s failed: %s (%d: %s)\n",
                 what, name ? name : "unknown CUresult", static_cast<int>(r),
                 desc ? desc : "");
  }
  return false;
}

/// Makes the default device's primary context current in this thread.
bool ensureContext() {
  thread_local CUcontext current = nullptr;
  thread_local int32_t currentDevice = -1;
  int32_t dev = defaultDevice.load();
  if (current && currentDevice == dev)
    return true;
  static std::once_flag initOnce;
  static CUresult initResult = CUDA_SUCCESS;
  std::call_once(initOnce, [] { initResult = cuInit(0); });
  if (!check(initResult, "cuInit"))
    return false;
  CUdevice device;
  if (!check(cuDeviceGet(&device, dev), "cuDeviceGet"))
    return false;
  CUcontext ctx;
  if (!check(cuDevicePrimaryCtxRetain(&ctx, device),
             "cuDevicePrimaryCtxRetain") ||
      !check(cuCtxSetCurrent(ctx), "cuCtxSetCurrent"))
    return false;
  // Per-thread scratch of the sparsek kernels uses device malloc, whose
  // heap is 8 MiB by default: raise it once per context, before the first
  // launch (SPARSEK_CUDA_MALLOC_HEAP_MB, default 1024).
  static std::once_flag heapOnce;
  std::call_once(heapOnce, [] {
    size_t mb = 1024;
    if (const char *env = std::getenv("SPARSEK_CUDA_MALLOC_HEAP_MB"))
      mb = std::strtoull(env, nullptr, 10);
    check(cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, mb << 20),
          "cuCtxSetLimit(MALLOC_HEAP_SIZE)");
  });
  current = ctx;
  currentDevice = dev;
  return true;
}

/// The ranked memref descriptor MLIR passes for memref arguments.
struct MemRefDescriptor {
  char *allocated, *aligned;
  int64_t offset;
  int64_t sizesAndStrides[1]; // sizes[rank] then strides[rank]
};

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// Status (sparsek-c/CudaRuntime.h)
//===----------------------------------------------------------------------===//

int32_t sparsekCudaGetStatus(void) { return stickyStatus.load(); }

const char *sparsekCudaGetStatusName(void) {
  const char *name = nullptr;
  if (cuGetErrorName(static_cast<CUresult>(stickyStatus.load()), &name) !=
          CUDA_SUCCESS ||
      !name)
    return "unknown CUresult";
  return name;
}

void sparsekCudaResetStatus(void) { stickyStatus.store(CUDA_SUCCESS); }

void sparsekCudaSetVerbose(int32_t v) { verbose.store(v); }

//===----------------------------------------------------------------------===//
// Modules and launches
//===----------------------------------------------------------------------===//

void mgpuSetDefaultDevice(int32_t device) { defaultDevice.store(device); }

CUmodule mgpuModuleLoad(void *data, size_t size) {
  if (!ensureContext() || !data)
    return nullptr;
  CUmodule module = nullptr;
  // cubin and fatbin images carry their size; PTX text must end in '\0'.
  const char *bytes = static_cast<const char *>(data);
  bool isElf = size >= 4 && std::memcmp(bytes, "\x7f" "ELF", 4) == 0;
  if (!isElf && size > 0 && bytes[size - 1] != '\0') {
    std::string ptx(bytes, size);
    check(cuModuleLoadData(&module, ptx.c_str()), "cuModuleLoadData");
  } else {
    check(cuModuleLoadData(&module, data), "cuModuleLoadData");
  }
  return module;
}

CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!ensureContext() || !data)
    return nullptr;
  CUmodule module = nullptr;
  CUjit_option opts[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(cuModuleLoadDataEx(&module, data, 1, opts, values),
        "cuModuleLoadDataEx (PTX JIT)");
  return module;
}

void mgpuModuleUnload(CUmodule module) {
  if (!module)
    return;
  // Lowered host code unloads its modules from a global destructor; when
  // that runs after the driver has shut down, there is nothing to unload.
  CUresult r = cuModuleUnload(module);
  if (r != CUDA_ERROR_DEINITIALIZED)
    check(r, "cuModuleUnload");
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  if (!module)
    return nullptr;
  CUfunction fn = nullptr;
  std::string what = std::string("cuModuleGetFunction(") + name + ")";
  check(cuModuleGetFunction(&fn, module, name), what.c_str());
  return fn;
}

void mgpuLaunchKernel(CUfunction fn, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, CUstream stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (!fn || !ensureContext())
    return;
  // More than 48 KiB of dynamic shared memory must be opted into.
  if (smem > 48 * 1024 &&
      !check(cuFuncSetAttribute(
                 fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
             "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)"))
    return;
  check(cuLaunchKernel(fn, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                       stream, params, extra),
        "cuLaunchKernel");
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

CUstream mgpuStreamCreate() {
  if (!ensureContext())
    return nullptr;
  CUstream stream = nullptr;
  check(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  return stream;
}

void mgpuStreamDestroy(CUstream stream) {
  if (stream)
    check(cuStreamDestroy(stream), "cuStreamDestroy");
}

void mgpuStreamSynchronize(CUstream stream) {
  if (ensureContext())
    check(cuStreamSynchronize(stream), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (event)
    check(cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

CUevent mgpuEventCreate() {
  if (!ensureContext())
    return nullptr;
  CUevent event = nullptr;
  check(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (event)
    check(cuEventDestroy(event), "cuEventDestroy");
}

void mgpuEventSynchronize(CUevent event) {
  if (event)
    check(cuEventSynchronize(event), "cuEventSynchronize");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event)
    check(cuEventRecord(event, stream), "cuEventRecord");
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

void *mgpuMemAlloc(uint64_t sizeBytes, CUstream /*stream*/, bool isHostShared) {
  if (sizeBytes == 0 || !ensureContext())
    return nullptr;
  CUdeviceptr ptr = 0;
  if (isHostShared)
    check(cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL),
          "cuMemAllocManaged");
  else
    check(cuMemAlloc(&ptr, sizeBytes), "cuMemAlloc");
  return reinterpret_cast<void *>(ptr);
}

void mgpuMemFree(void *ptr, CUstream /*stream*/) {
  if (ptr)
    check(cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, CUstream stream) {
  if (sizeBytes && ensureContext())
    check(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                        reinterpret_cast<CUdeviceptr>(src), sizeBytes, stream),
          "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count,
                  CUstream stream) {
  if (count && ensureContext())
    check(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  CUstream stream) {
  if (count && ensureContext())
    check(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
          "cuMemsetD16Async");
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (ptr && sizeBytes && ensureContext())
    check(cuMemHostRegister(ptr, sizeBytes, /*flags=*/0), "cuMemHostRegister");
}

void mgpuMemHostUnregister(void *ptr) {
  if (ptr && ensureContext())
    check(cuMemHostUnregister(ptr), "cuMemHostUnregister");
}

/// Registers the whole buffer a ranked memref spans (sizes x strides).
void mgpuMemHostRegisterMemRef(int64_t rank, MemRefDescriptor *desc,
                               int64_t elementSizeBytes) {
  int64_t extent = 1;
  for (int64_t i = 0; i < rank; ++i)
    if (desc->sizesAndStrides[i] > 0)
      extent += (desc->sizesAndStrides[i] - 1) * desc->sizesAndStrides[rank + i];
  mgpuMemHostRegister(desc->aligned + desc->offset * elementSizeBytes,
                      static_cast<uint64_t>(extent * elementSizeBytes));
}

void mgpuMemHostUnregisterMemRef(int64_t /*rank*/, MemRefDescriptor *desc,
                                 int64_t elementSizeBytes) {
  mgpuMemHostUnregister(desc->aligned + desc->offset * elementSizeBytes);
}

} // extern "C"
