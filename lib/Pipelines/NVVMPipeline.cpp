//===- NVVMPipeline.cpp - sparsek-nvvm-pipeline -----------------*- C++ -*-===//
//
// The GPU path: every scf.forall iteration of the lowering becomes one GPU
// thread, in blocks of block-size threads along the forall's first
// dimension; the top-level linalg ops (score, mask) become parallel loops
// mapped to the grid. Selection runs in parallel along the row
// (parallel-selection, ParallelSelection.cpp: foralls over keys, queries or
// output entries); with parallel-selection=0, one thread per (batch, head)
// row sweeps it. The selection and attention lowerings allocate no scratch
// inside threads; what remains of device malloc (the sequential sweeps'
// heaps) has its heap raised by libsparsek_cuda_runtime.
// The fused, tuned kernels are the next issue's job.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"
#include "sparsek/Transforms/Passes.h"
#include "sparsek/Pipelines/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// The decimal digits `s` starts with.
static StringRef leadingDigits(StringRef s) {
  return s.take_while(llvm::isDigit);
}

/// The least PTX ISA version (e.g. 78 for 7.8) LLVM 22's NVPTX backend
/// accepts for `chip`, or none for a chip it does not know (probed with
/// llc; below it, or on an unknown chip, the backend aborts instead of
/// reporting an error). Without +ptx features the backend uses it.
static std::optional<unsigned> leastPtx(StringRef chip) {
  static constexpr std::pair<llvm::StringLiteral, unsigned> kChips[] = {
      {"sm_50", 40},   {"sm_52", 41},   {"sm_53", 42},   {"sm_60", 50},
      {"sm_61", 50},   {"sm_62", 50},   {"sm_70", 60},   {"sm_72", 61},
      {"sm_75", 63},   {"sm_80", 70},   {"sm_86", 71},   {"sm_87", 74},
      {"sm_88", 90},   {"sm_89", 78},   {"sm_90", 78},   {"sm_90a", 80},
      {"sm_100", 86},  {"sm_100a", 86}, {"sm_100f", 88}, {"sm_101", 86},
      {"sm_101a", 86}, {"sm_103", 88},  {"sm_103a", 88}, {"sm_110", 90},
      {"sm_110a", 90}, {"sm_120", 87},  {"sm_120a", 87}, {"sm_121", 88},
      {"sm_121a", 88}};
  for (const auto &[name, ptx] : kChips)
    if (name == chip)
      return ptx;
  return std::nullopt;
}

/// The PTX features the kernels are compiled with: those given, else PTX
/// ISA 8.1 (the backward kernel's vector reductions on sm_90) or the
/// chip's least if newer (sm_100: 8.6).
static std::string
effectiveFeatures(const sparsek::SparseKNVVMPipelineOptions &o) {
  if (o.features.hasValue())
    return o.features;
  return "+ptx" + std::to_string(std::max(81u, leastPtx(o.chip).value_or(81)));
}

LogicalResult mlir::sparsek::verifySparseKNVVMPipelineOptions(
    const SparseKNVVMPipelineOptions &options,
    function_ref<void(const Twine &)> error) {
  // sm_<digits>[one lower-case letter]
  StringRef chip = options.chip;
  bool chipOk = chip.consume_front("sm_");
  size_t digits = leadingDigits(chip).size();
  chipOk = chipOk && digits > 0 &&
           (chip.size() == digits ||
            (chip.size() == digits + 1 && llvm::isLower(chip.back())));
  if (!chipOk)
    return error("invalid chip '" + options.chip +
                 "': expected sm_<digits> with an optional letter (sm_80, "
                 "sm_90, sm_90a)"),
           failure();
  std::optional<unsigned> least = leastPtx(options.chip);
  if (!least)
    return error("unsupported chip '" + options.chip +
                 "': LLVM 22's NVPTX backend knows sm_50 to sm_121a (e.g. "
                 "sm_80, sm_90, sm_90a, sm_100)"),
           failure();
  if (leadingDigits(chip).compare_numeric("80") < 0)
    return error("unsupported chip '" + options.chip +
                 "': the kernels need sm_80 or newer (cp.async, bf16 "
                 "mma.sync)"),
           failure();
  std::string given = effectiveFeatures(options);
  StringRef features = given;
  if (!features.empty() &&
      !(features.consume_front("+ptx") && !features.empty() &&
        leadingDigits(features).size() == features.size()))
    return error("invalid features '" + given +
                 "': expected +ptx<digits> (e.g. +ptx80) or nothing"),
           failure();
  if (!features.empty()) {
    // The PTX ISA versions LLVM 22 knows (an unknown one is ignored, and
    // the kernels' newer instructions then abort the backend).
    static constexpr unsigned kPtx[] = {32, 40, 41, 42, 43, 50, 60, 61,
                                        62, 63, 64, 65, 70, 71, 72, 73,
                                        74, 75, 76, 77, 78, 80, 81, 82,
                                        83, 84, 85, 86, 87, 88, 90};
    unsigned ptx = 0;
    if (features.getAsInteger(10, ptx) || !llvm::is_contained(kPtx, ptx))
      return error("unsupported features '" + given +
                   "': LLVM 22 knows PTX ISA versions +ptx32 to +ptx90"),
             failure();
    if (ptx < *least)
      return error("features '" + given + "' too old for chip '" +
                   options.chip + "': it needs PTX ISA +ptx" + Twine(*least) +
                   " or newer"),
             failure();
  }
  StringRef format = options.format;
  if (format != "isa" && format != "bin" && format != "fatbin")
    return error("invalid format '" + options.format +
                 "': expected isa, bin or fatbin"),
           failure();
  if (options.optLevel < 0 || options.optLevel > 3)
    return error("invalid opt-level " + Twine(options.optLevel.getValue()) +
                 ": expected 0 to 3"),
           failure();
  if (options.blockSize < 1 || options.blockSize > 1024)
    return error("invalid block-size " + Twine(options.blockSize.getValue()) +
                 ": expected 1 to 1024 threads (CUDA's limit per block)"),
           failure();
  if (options.keyTile < 16 || options.keyTile > 64 || options.keyTile % 16)
    return error("invalid key-tile " + Twine(options.keyTile.getValue()) +
                 ": expected 16, 32, 48 or 64 keys (mma.sync tiles of 16)"),
           failure();
  if (options.pingPong != 0 && options.pingPong != 1)
    return error("invalid ping-pong " + Twine(options.pingPong.getValue()) +
                 ": expected 0 or 1"),
           failure();
  if (options.wgmma != 0 && options.wgmma != 1)
    return error("invalid wgmma " + Twine(options.wgmma.getValue()) +
                 ": expected 0 or 1"),
           failure();
  StringRef gridDependency = options.gridDependency;
  if (gridDependency != "off" && gridDependency != "wait" &&
      gridDependency != "trigger")
    return error("invalid grid-dependency '" + options.gridDependency +
                 "': expected off, wait or trigger"),
           failure();
  if (options.wgmma == 1 && options.chip != "sm_90a")
    return error("wgmma=1 needs chip=sm_90a, not '" + options.chip + "'"),
           failure();
  return success();
}

void mlir::sparsek::buildSparseKNVVMPipeline(
    OpPassManager &pm, const SparseKNVVMPipelineOptions &options) {
  // Vector reductions (red.global.add.v4.f32) need sm_90 and PTX ISA 8.1;
  // the options were verified (sm_<digits>[letter], +ptx<digits>).
  auto number = [](StringRef s) {
    unsigned v = 0;
    leadingDigits(s).getAsInteger(10, v);
    return v;
  };
  unsigned sm = number(StringRef(options.chip).drop_front(3));
  std::string given = effectiveFeatures(options);
  StringRef features = given;
  bool vectorReductions =
      sm >= 90 && features.consume_front("+ptx") && number(features) >= 81;
  // The tensor-core kernels' options: block-size and key-tile only when
  // given (otherwise the tuning table's, per op).
  ConvertSparseKToGPUPassOptions gpu;
  if (options.blockSize.hasValue())
    gpu.blockSize = options.blockSize;
  if (options.keyTile.hasValue())
    gpu.keyTile = options.keyTile;
  if (options.pingPong.hasValue())
    gpu.pingPong = options.pingPong;
  if (options.wgmma.hasValue())
    gpu.wgmma = options.wgmma;
  gpu.parallelSelection = options.parallelSelection;
  gpu.vectorReductions = vectorReductions;
  gpu.chip = options.chip;
  gpu.tuningFile = options.tuningFile;
  gpu.printTuning = options.printTuning;
  gpu.decodePhase1Tiles = options.decodePhase1Tiles;
  gpu.decodePreIssue = options.decodePreIssue;
  gpu.decodeFusedLengths = options.decodeFusedLengths;
  gpu.decodeMinBlocks = options.decodeMinBlocks;
  gpu.decodeTargetBlocks = options.decodeTargetBlocks;
  buildSparseKBufferizedStages(
      pm, options.emitCInterface, /*forGPU=*/true, options.parallelSelection,
      options.fuseAttention ? options.blockSize.getValue() : 0,
      options.fuseAttention && options.tensorCores ? &gpu : nullptr);
  // Kernel stubs (convert-sparsek-to-gpu) => their gpu.launch, now that
  // buffers are allocated and freed.
  pm.addPass(createSparseKExpandKernelStubsPass());

  // Threads and grids. Host-level buffers move to the GPU first (their
  // copies become gpu.memcpy); the copies left are inside threads and
  // become loops (a dynamically shaped memref.copy would call MLIR's
  // runner library).
  pm.addPass(createSparseKHostBuffersToGPUPass());
  pm.addPass(createSparseKExpandMemRefCopyPass());
  pm.addPass(createSparseKForallBodiesToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // A structured op's loops, in memory order, as one dimension: blocks of
  // threads along its elements, no grid y/z limit (65535) to exceed.
  pm.addNestedPass<func::FuncOp>(createSparseKCollapseParallelLoopsPass());
  pm.addPass(createForallToParallelLoopPass());
  // Blocks of block-size iterations along each loop's first dimension (the
  // long one: queries, keys), with guards instead of min bounds so that
  // block sizes stay constant. The first dimension maps to x, the only one
  // that allows more than 64 threads per block.
  pm.addNestedPass<func::FuncOp>(createParallelLoopTilingPass(
      {options.blockSize, 1, 1}, /*noMinMaxBounds=*/true));
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addPass(createConvertParallelLoopToGpuPass());
  // Constants (and dims, compares, selects on them) defined outside a
  // launch body go into it first: canonicalization hoists a body's
  // constants to the host function, and outlining would make each a kernel
  // argument (a division by a constant would become a 64-bit division
  // routine, every constant a parameter load).
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  // Host-side gpu.alloc/memcpy/dealloc/launch_func as token-chained async
  // ops, which is what gpu-to-llvm lowers to runtime calls (the async region
  // pass needs outlined kernels).
  pm.addPass(createSparseKGPUKernelOutliningPass());
  // Outlining copied the kernels' shared-memory globals into their modules;
  // the host's originals (workgroup memory, unused now) go.
  pm.addPass(createSymbolDCEPass());
  // Kernels that wait for their stream predecessor themselves, so that the
  // runtime may launch them before it ends (griddepcontrol: sm_90 and PTX
  // ISA 7.8).
  // (grid-dependency=off: the builders' own waits and triggers removed.)
  if (sm >= 90) {
    SparseKGPUGridDependencyPassOptions dep;
    dep.mode = options.gridDependency;
    pm.addPass(createSparseKGPUGridDependencyPass(dep));
  }
  // Older chips and PTX versions: the builders' Hopper-only hints removed.
  {
    SparseKGPULegalizeChipPassOptions legal;
    legal.chip = options.chip;
    StringRef ptx = given;
    legal.ptx = ptx.consume_front("+ptx") ? number(ptx)
                                          : leastPtx(options.chip).value_or(0);
    pm.addPass(createSparseKGPULegalizeChipPass(legal));
  }
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createLowerAffinePass());
  arith::ArithExpandOpsPassOptions expandOpts;
  expandOpts.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expandOpts));
  if (options.emitCInterface)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());

  // Kernels => NVVM => binary; host => LLVM with gpu.launch_func.
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = given;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
  // One stream per host function call instead of one per async region.
  pm.addPass(createSparseKGPUSingleStreamPass());
}
