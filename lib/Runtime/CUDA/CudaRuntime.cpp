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
// The driver is opened with dlopen("libcuda.so.1") on first use, so this
// library (and code compiled against it) loads on machines without a GPU;
// there every call fails with CUDA_ERROR_NO_DEVICE. Each driver function is
// a pointer in `Driver`, filled by dlsym (cuda.h's macros pick the current
// versioned names, e.g. cuMemAlloc_v2) or, without a driver, by a stub that
// returns CUDA_ERROR_NO_DEVICE.
//
//===----------------------------------------------------------------------===//

#include "sparsek-c/CudaRuntime.h"

#include <cuda.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

#define SPARSEK_CUDA_DRIVER_FUNCTIONS(X)                                       \
  X(cuInit)                                                                    \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuCtxSetLimit)                                                             \
  X(cuModuleLoadData)                                                          \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuModuleGetGlobal)                                                         \
  X(cuDeviceGetAttribute)                                                      \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventSynchronize)                                                        \
  X(cuEventRecord)                                                             \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemAllocAsync)                                                           \
  X(cuMemFreeAsync)                                                            \
  X(cuDeviceGetDefaultMemPool)                                                 \
  X(cuMemPoolSetAttribute)                                                     \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD16Async)                                                          \
  X(cuMemHostRegister)                                                         \
  X(cuMemHostUnregister)

#define SPARSEK_STR2(x) #x
#define SPARSEK_STR(x) SPARSEK_STR2(x)

/// Every driver function always has a stub that fails.
template <typename... Args> void setStub(CUresult (*&fn)(Args...)) {
  fn = [](Args...) -> CUresult { return CUDA_ERROR_NO_DEVICE; };
}

struct Driver {
#define SPARSEK_DECLARE(f) decltype(&::f) f = nullptr;
  SPARSEK_CUDA_DRIVER_FUNCTIONS(SPARSEK_DECLARE)
#undef SPARSEK_DECLARE
  bool loaded = false;

  Driver() {
#define SPARSEK_STUB(f) setStub(f);
    SPARSEK_CUDA_DRIVER_FUNCTIONS(SPARSEK_STUB)
#undef SPARSEK_STUB
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
      return;
    bool all = true;
#define SPARSEK_LOAD(f)                                                        \
  if (void *sym = dlsym(lib, SPARSEK_STR(f)))                                  \
    f = reinterpret_cast<decltype(f)>(sym);                                    \
  else                                                                         \
    all = false;
    SPARSEK_CUDA_DRIVER_FUNCTIONS(SPARSEK_LOAD)
#undef SPARSEK_LOAD
    loaded = all;
    // Optional (CUDA 12.0 drivers and newer): launches with attributes.
    if (void *sym = dlsym(lib, SPARSEK_STR(cuLaunchKernelEx)))
      cuLaunchKernelEx = reinterpret_cast<decltype(cuLaunchKernelEx)>(sym);
  }
  decltype(&::cuLaunchKernelEx) cuLaunchKernelEx = nullptr;
};

/// The driver, opened once.
const Driver &drv() {
  static const Driver d;
  return d;
}

std::atomic<int32_t> stickyStatus{CUDA_SUCCESS};
/// Device buffers come from the device's stream-ordered memory pool
/// (cuMemAllocAsync / cuMemFreeAsync) unless SPARSEK_CUDA_POOL=0 or the
/// device has no pool: freed memory stays cached for the next allocation
/// instead of cuMemAlloc/cuMemFree per buffer (cuMemFree synchronizes the
/// whole device; a layer allocates and frees dozens of scratch buffers).
std::atomic<bool> usePool{false};
/// Managed (host-shared) allocations, which cuMemFree releases.
std::mutex managedMutex;
std::unordered_set<void *> managed;
std::atomic<int32_t> verbose{1};
std::atomic<int32_t> defaultDevice{0};

bool check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  int32_t expected = CUDA_SUCCESS;
  stickyStatus.compare_exchange_strong(expected, static_cast<int32_t>(r));
  if (verbose.load()) {
    const char *name = nullptr, *desc = nullptr;
    if (drv().loaded) {
      drv().cuGetErrorName(r, &name);
      drv().cuGetErrorString(r, &desc);
    } else if (r == CUDA_ERROR_NO_DEVICE) {
      name = "CUDA_ERROR_NO_DEVICE";
      desc = "no CUDA driver (libcuda.so.1 could not be loaded)";
    }
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
  std::call_once(initOnce, [] { initResult = drv().cuInit(0); });
  if (!check(initResult, "cuInit"))
    return false;
  CUdevice device;
  if (!check(drv().cuDeviceGet(&device, dev), "cuDeviceGet"))
    return false;
  CUcontext ctx;
  if (!check(drv().cuDevicePrimaryCtxRetain(&ctx, device),
             "cuDevicePrimaryCtxRetain") ||
      !check(drv().cuCtxSetCurrent(ctx), "cuCtxSetCurrent"))
    return false;
  // Per-thread scratch of the sparsek kernels uses device malloc, whose
  // heap is 8 MiB by default: raise it once per context, before the first
  // launch (SPARSEK_CUDA_MALLOC_HEAP_MB, default 1024).
  static std::once_flag heapOnce;
  std::call_once(heapOnce, [] {
    size_t mb = 1024;
    if (const char *env = std::getenv("SPARSEK_CUDA_MALLOC_HEAP_MB"))
      mb = std::strtoull(env, nullptr, 10);
    check(drv().cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, mb << 20),
          "drv().cuCtxSetLimit(MALLOC_HEAP_SIZE)");
  });
  // The pool keeps what is freed (release threshold: unlimited), once per
  // device made current.
  static std::mutex poolMutex;
  static std::unordered_set<int32_t> poolDevices;
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (poolDevices.insert(dev).second) {
      const char *env = std::getenv("SPARSEK_CUDA_POOL");
      bool wanted = !(env && std::strcmp(env, "0") == 0);
      CUmemoryPool pool = nullptr;
      cuuint64_t keep = ~cuuint64_t(0);
      // No pool (or one that refuses the attribute) is not an error: plain
      // allocations then.
      bool ok = wanted &&
                drv().cuDeviceGetDefaultMemPool(&pool, device) ==
                    CUDA_SUCCESS &&
                drv().cuMemPoolSetAttribute(
                    pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep) ==
                    CUDA_SUCCESS;
      if (poolDevices.size() == 1)
        usePool.store(ok);
      else if (!ok)
        usePool.store(false);
    }
  }
  current = ctx;
  currentDevice = dev;
  return true;
}

/// Streams mgpuStreamCreate made in this thread (stream, device) and the
/// ones free for reuse (device, stream). Thread-local: a stream handed to
/// one thread's host code is never given to another thread's.
std::vector<std::pair<CUstream, int32_t>> &liveStreams() {
  thread_local std::vector<std::pair<CUstream, int32_t>> live;
  return live;
}
std::vector<std::pair<int32_t, CUstream>> &streamPool() {
  thread_local std::vector<std::pair<int32_t, CUstream>> pool;
  return pool;
}

/// A device buffer of `bytes`: from the stream-ordered pool, ordered on
/// `stream`, or by cuMemAlloc when the pool is off. 0 on failure.
CUdeviceptr allocDevice(uint64_t bytes, CUstream stream) {
  CUdeviceptr ptr = 0;
  if (usePool.load())
    check(drv().cuMemAllocAsync(&ptr, bytes, stream), "cuMemAllocAsync");
  else
    check(drv().cuMemAlloc(&ptr, bytes), "cuMemAlloc");
  return ptr;
}

/// Frees what allocDevice gave: back to the pool after the work on
/// `stream`, or by cuMemFree when the pool is off.
void freeDevice(void *ptr, CUstream stream) {
  auto p = reinterpret_cast<CUdeviceptr>(ptr);
  if (usePool.load())
    check(drv().cuMemFreeAsync(p, stream), "cuMemFreeAsync");
  else
    check(drv().cuMemFree(p), "cuMemFree");
}

/// A caller's call scope (sparsekCudaBeginCall .. sparsekCudaEndCall) in
/// this thread: the host code's stream is the caller's, its stream
/// synchronizations are left to the caller's stream order, and its device
/// buffers are carved from the caller's workspace.
///
/// The workspace is a stack: every allocation takes the next `Align`-aligned
/// bytes at the top (its virtual offset), a free marks its entry and pops
/// every freed entry off the top. Allocations and frees are ordered on one
/// stream (sparsek-gpu-single-stream), so a region popped by a free may be
/// handed out again at once: the work that reads the old buffer runs before
/// the work that writes the new one. An allocation whose virtual region ends
/// beyond the workspace comes from the pool (stream-ordered on the caller's
/// stream, so capturable) instead; `peak` counts every byte either way, so
/// the caller learns the workspace that would have held the whole call.
struct CallScope {
  static constexpr uint64_t Align = 256;
  struct Entry {
    void *ptr;
    uint64_t offset; // the virtual top before this buffer
    bool inWorkspace, freed;
  };
  bool active = false;
  CUstream stream = nullptr;
  char *base = nullptr;
  uint64_t capacity = 0, top = 0, peak = 0;
  std::vector<Entry> entries;
};

CallScope &callScope() {
  thread_local CallScope scope;
  return scope;
}

/// Programmatic dependent launch. A module whose kernels all start with
/// griddepcontrol.wait (sparsek-gpu-grid-dependency) holds the global
/// `__sparsek_grid_dependency_wait`; its functions are launched with
/// programmatic stream serialization, so each may start before the kernel
/// ahead of it on the stream has ended, and waits for it itself. Any
/// other module's kernels are launched plainly: a kernel that does not
/// wait must not overlap its predecessor.
std::mutex dependencyMutex;
std::unordered_set<CUmodule> waitingModules;
std::unordered_map<CUfunction, CUmodule> waitingFunctions;

void noteGridDependency(CUmodule module) {
  if (!module)
    return;
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  // Not found is the common answer (no check: it is not an error).
  if (drv().cuModuleGetGlobal(&ptr, &bytes, module,
                              "__sparsek_grid_dependency_wait") !=
      CUDA_SUCCESS)
    return;
  std::lock_guard<std::mutex> lock(dependencyMutex);
  waitingModules.insert(module);
}

void noteFunction(CUmodule module, CUfunction fn) {
  std::lock_guard<std::mutex> lock(dependencyMutex);
  if (fn && waitingModules.count(module))
    waitingFunctions[fn] = module;
}

void forgetGridDependency(CUmodule module) {
  std::lock_guard<std::mutex> lock(dependencyMutex);
  if (!waitingModules.erase(module))
    return;
  for (auto it = waitingFunctions.begin(); it != waitingFunctions.end();)
    it = it->second == module ? waitingFunctions.erase(it) : std::next(it);
}

/// Whether `fn` may be launched with programmatic stream serialization on
/// the current device: it waits for its predecessor itself, the driver has
/// cuLaunchKernelEx, the device is sm_90 or newer, and SPARSEK_PDL is not
/// 0.
bool launchesEarly(CUfunction fn) {
  static const bool wanted = [] {
    const char *env = std::getenv("SPARSEK_PDL");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  if (!wanted || !drv().cuLaunchKernelEx)
    return false;
  {
    std::lock_guard<std::mutex> lock(dependencyMutex);
    if (!waitingFunctions.count(fn))
      return false;
  }
  // Per device ordinal: 0 unknown, 1 no, 2 yes.
  static std::atomic<int8_t> capable[64] = {};
  int32_t dev = defaultDevice.load();
  if (dev < 0 || dev >= 64)
    return false;
  int8_t known = capable[dev].load();
  if (known == 0) {
    CUdevice device;
    int major = 0;
    known = drv().cuDeviceGet(&device, dev) == CUDA_SUCCESS &&
                    drv().cuDeviceGetAttribute(
                        &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                        device) == CUDA_SUCCESS &&
                    major >= 9
                ? 2
                : 1;
    capable[dev].store(known);
  }
  return known == 2;
}

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// The caller's stream and workspace (sparsek-c/CudaRuntime.h)
//===----------------------------------------------------------------------===//

void sparsekCudaBeginCall(void *stream, void *workspace, uint64_t bytes) {
  CallScope &scope = callScope();
  scope.active = true;
  scope.stream = static_cast<CUstream>(stream);
  // A workspace that does not start on an Align boundary loses its head.
  uintptr_t addr = reinterpret_cast<uintptr_t>(workspace);
  uintptr_t aligned = (addr + CallScope::Align - 1) & ~(CallScope::Align - 1);
  scope.base = workspace ? reinterpret_cast<char *>(aligned) : nullptr;
  scope.capacity =
      workspace && bytes > aligned - addr ? bytes - (aligned - addr) : 0;
  scope.top = scope.peak = 0;
  scope.entries.clear();
}

uint64_t sparsekCudaEndCall(void) {
  CallScope &scope = callScope();
  // The lowered code frees what it allocates; whatever it left outside the
  // workspace (an early exit) is freed here, after the call's work.
  for (const CallScope::Entry &e : scope.entries)
    if (!e.freed && !e.inWorkspace && ensureContext())
      freeDevice(e.ptr, scope.stream);
  uint64_t peak = scope.peak;
  scope.active = false;
  scope.stream = nullptr;
  scope.base = nullptr;
  scope.capacity = scope.top = scope.peak = 0;
  scope.entries.clear(); // keeps its capacity for the next call
  return peak;
}


//===----------------------------------------------------------------------===//
// Status (sparsek-c/CudaRuntime.h)
//===----------------------------------------------------------------------===//

int32_t sparsekCudaGetStatus(void) { return stickyStatus.load(); }

const char *sparsekCudaGetStatusName(void) {
  int32_t status = stickyStatus.load();
  if (!drv().loaded)
    return status == CUDA_SUCCESS          ? "CUDA_SUCCESS"
           : status == CUDA_ERROR_NO_DEVICE ? "CUDA_ERROR_NO_DEVICE"
                                            : "unknown CUresult";
  const char *name = nullptr;
  if (drv().cuGetErrorName(static_cast<CUresult>(status), &name) !=
          CUDA_SUCCESS ||
      !name)
    return "unknown CUresult";
  return name;
}

int32_t sparsekCudaDriverAvailable(void) { return drv().loaded ? 1 : 0; }

void sparsekCudaResetStatus(void) { stickyStatus.store(CUDA_SUCCESS); }

void sparsekCudaSetVerbose(int32_t v) { verbose.store(v); }

//===----------------------------------------------------------------------===//
// Modules and launches
//===----------------------------------------------------------------------===//

void mgpuSetDefaultDevice(int32_t device) { defaultDevice.store(device); }

void *mgpuModuleLoad(void *data, size_t size) {
  if (!ensureContext() || !data)
    return nullptr;
  CUmodule module = nullptr;
  // cubin and fatbin images carry their size; PTX text must end in '\0'.
  const char *bytes = static_cast<const char *>(data);
  bool isElf = size >= 4 && std::memcmp(bytes, "\x7f" "ELF", 4) == 0;
  if (!isElf && size > 0 && bytes[size - 1] != '\0') {
    std::string ptx(bytes, size);
    check(drv().cuModuleLoadData(&module, ptx.c_str()), "cuModuleLoadData");
  } else {
    check(drv().cuModuleLoadData(&module, data), "cuModuleLoadData");
  }
  noteGridDependency(module);
  return module;
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!ensureContext() || !data)
    return nullptr;
  CUmodule module = nullptr;
  CUjit_option opts[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(drv().cuModuleLoadDataEx(&module, data, 1, opts, values),
        "cuModuleLoadDataEx (PTX JIT)");
  noteGridDependency(module);
  return module;
}

void mgpuModuleUnload(void *handle) {
  auto module = static_cast<CUmodule>(handle);
  if (!module)
    return;
  // Lowered host code unloads its modules from a global destructor; when
  // that runs after the driver has shut down, there is nothing to unload.
  forgetGridDependency(module);
  CUresult r = drv().cuModuleUnload(module);
  if (r != CUDA_ERROR_DEINITIALIZED)
    check(r, "cuModuleUnload");
}

void *mgpuModuleGetFunction(void *handle, const char *name) {
  auto module = static_cast<CUmodule>(handle);
  if (!module)
    return nullptr;
  CUfunction fn = nullptr;
  std::string what = std::string("drv().cuModuleGetFunction(") + name + ")";
  check(drv().cuModuleGetFunction(&fn, module, name), what.c_str());
  noteFunction(module, fn);
  return fn;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *streamHandle,
                      void **params, void **extra, size_t /*paramsCount*/) {
  auto fn = static_cast<CUfunction>(function);
  auto stream = static_cast<CUstream>(streamHandle);
  if (!fn || !ensureContext())
    return;
  // A grid without blocks (a loop over an empty shape) has nothing to run;
  // CUDA would reject it as an invalid value.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  // More than 48 KiB of dynamic shared memory must be opted into.
  if (smem > 48 * 1024 &&
      !check(drv().cuFuncSetAttribute(
                 fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
             "drv().cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)"))
    return;
  if (launchesEarly(fn)) {
    CUlaunchAttribute attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config;
    std::memset(&config, 0, sizeof(config));
    config.gridDimX = gridX;
    config.gridDimY = gridY;
    config.gridDimZ = gridZ;
    config.blockDimX = blockX;
    config.blockDimY = blockY;
    config.blockDimZ = blockZ;
    config.sharedMemBytes = smem;
    config.hStream = stream;
    config.attrs = &attr;
    config.numAttrs = 1;
    check(drv().cuLaunchKernelEx(&config, fn, params, extra),
          "cuLaunchKernelEx");
    return;
  }
  check(drv().cuLaunchKernel(fn, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
                       stream, params, extra),
        "cuLaunchKernel");
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

void *mgpuStreamCreate(void) {
  if (callScope().active)
    return callScope().stream;
  if (!ensureContext())
    return nullptr;
  // Lowered host code creates and destroys a stream around every async
  // region (dozens per layer call): reuse this thread's streams of the
  // current device. A reused stream orders new work after whatever it
  // still holds, which only adds ordering.
  int32_t dev = defaultDevice.load();
  auto &pool = streamPool();
  for (size_t i = pool.size(); i-- > 0;)
    if (pool[i].first == dev) {
      CUstream stream = pool[i].second;
      pool.erase(pool.begin() + i);
      return stream;
    }
  CUstream stream = nullptr;
  check(drv().cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  if (stream)
    liveStreams().emplace_back(stream, dev);
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  if (!stream || (callScope().active && stream == callScope().stream))
    return;
  auto s = static_cast<CUstream>(stream);
  // Streams this thread created go back to its pool (at most 8 kept);
  // others (or beyond that) are destroyed.
  auto &live = liveStreams();
  for (size_t i = 0; i < live.size(); ++i)
    if (live[i].first == s) {
      if (streamPool().size() < 8) {
        streamPool().emplace_back(live[i].second, s);
        return;
      }
      live.erase(live.begin() + i);
      break;
    }
  check(drv().cuStreamDestroy(s), "cuStreamDestroy");
}

void mgpuStreamSynchronize(void *stream) {
  // In a call scope the caller's stream orders whatever follows (and may be
  // capturing a CUDA graph, where synchronizing is an error).
  if (callScope().active && stream == callScope().stream)
    return;
  if (ensureContext())
    check(drv().cuStreamSynchronize(static_cast<CUstream>(stream)),
          "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (event)
    check(drv().cuStreamWaitEvent(static_cast<CUstream>(stream),
                                  static_cast<CUevent>(event), 0),
          "cuStreamWaitEvent");
}

void *mgpuEventCreate(void) {
  if (!ensureContext())
    return nullptr;
  CUevent event = nullptr;
  check(drv().cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  return event;
}

void mgpuEventDestroy(void *event) {
  if (event)
    check(drv().cuEventDestroy(static_cast<CUevent>(event)), "cuEventDestroy");
}

void mgpuEventSynchronize(void *event) {
  if (event)
    check(drv().cuEventSynchronize(static_cast<CUevent>(event)),
          "cuEventSynchronize");
}

void mgpuEventRecord(void *event, void *stream) {
  if (event)
    check(drv().cuEventRecord(static_cast<CUevent>(event),
                              static_cast<CUstream>(stream)),
          "cuEventRecord");
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  CallScope &scope = callScope();
  if (scope.active && !isHostShared) {
    uint64_t bytes = (sizeBytes + CallScope::Align - 1) & ~(CallScope::Align - 1);
    CallScope::Entry e{nullptr, scope.top, false, false};
    if (bytes <= scope.capacity && scope.top <= scope.capacity - bytes) {
      e.ptr = scope.base + scope.top;
      e.inWorkspace = true;
    } else if (ensureContext()) {
      e.ptr = reinterpret_cast<void *>(allocDevice(sizeBytes, scope.stream));
    }
    if (!e.ptr)
      return nullptr;
    scope.top += bytes;
    scope.peak = std::max(scope.peak, scope.top);
    scope.entries.push_back(e);
    return e.ptr;
  }
  if (!ensureContext())
    return nullptr;
  CUdeviceptr ptr = 0;
  if (isHostShared) {
    if (check(drv().cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL),
              "cuMemAllocManaged")) {
      std::lock_guard<std::mutex> lock(managedMutex);
      managed.insert(reinterpret_cast<void *>(ptr));
    }
  } else {
    // Ordered on `stream`, where the lowered host code uses the buffer;
    // without a stream the caller expects a buffer ready for any stream.
    auto s = static_cast<CUstream>(stream);
    ptr = allocDevice(sizeBytes, s);
    if (ptr && usePool.load() && !s)
      check(drv().cuStreamSynchronize(nullptr), "cuStreamSynchronize");
  }
  return reinterpret_cast<void *>(ptr);
}

void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr)
    return;
  CallScope &scope = callScope();
  if (scope.active) {
    auto &entries = scope.entries;
    for (size_t i = entries.size(); i-- > 0;) {
      CallScope::Entry &e = entries[i];
      if (e.ptr != ptr || e.freed)
        continue;
      e.freed = true;
      if (!e.inWorkspace && ensureContext())
        freeDevice(ptr, scope.stream);
      while (!entries.empty() && entries.back().freed) {
        scope.top = entries.back().offset;
        entries.pop_back();
      }
      return;
    }
    // Not allocated in this scope: an ordinary buffer.
  }
  {
    std::lock_guard<std::mutex> lock(managedMutex);
    if (managed.erase(ptr)) {
      check(drv().cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
      return;
    }
  }
  // After the work on `stream` (the lowered code frees a buffer on the
  // stream that used it, or after waiting for it).
  freeDevice(ptr, static_cast<CUstream>(stream));
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  if (sizeBytes && ensureContext())
    check(drv().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                              reinterpret_cast<CUdeviceptr>(src), sizeBytes,
                              static_cast<CUstream>(stream)),
          "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream) {
  if (count && ensureContext())
    check(drv().cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                 count, static_cast<CUstream>(stream)),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void *stream) {
  if (count && ensureContext())
    check(drv().cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                 count, static_cast<CUstream>(stream)),
          "cuMemsetD16Async");
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (ptr && sizeBytes && ensureContext())
    check(drv().cuMemHostRegister(ptr, sizeBytes, /*flags=*/0), "cuMemHostRegister");
}

void mgpuMemHostUnregister(void *ptr) {
  if (ptr && ensureContext())
    check(drv().cuMemHostUnregister(ptr), "cuMemHostUnregister");
}

/// Registers the whole buffer a ranked memref spans (sizes x strides).
void mgpuMemHostRegisterMemRef(int64_t rank, SparseKMemRefAnyRank *desc,
                               int64_t elementSizeBytes) {
  const int64_t *sizes = desc->sizes_and_strides;
  int64_t extent = 1;
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] > 0)
      extent += (sizes[i] - 1) * sizes[rank + i];
  mgpuMemHostRegister(static_cast<char *>(desc->aligned) +
                          desc->offset * elementSizeBytes,
                      static_cast<uint64_t>(extent * elementSizeBytes));
}

void mgpuMemHostUnregisterMemRef(int64_t /*rank*/, SparseKMemRefAnyRank *desc,
                                 int64_t elementSizeBytes) {
  mgpuMemHostUnregister(static_cast<char *>(desc->aligned) +
                        desc->offset * elementSizeBytes);
}

} // extern "C"
