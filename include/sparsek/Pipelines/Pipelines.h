//===- Pipelines.h - sparsek pass pipelines ---------------------*- C++ -*-===//

#ifndef SPARSEK_PIPELINES_PIPELINES_H
#define SPARSEK_PIPELINES_PIPELINES_H

#include "sparsek/Conversion/Passes.h"

#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

namespace mlir {
class OpPassManager;
namespace sparsek {

/// Options of `sparsek-cpu-pipeline`.
struct SparseKCPUPipelineOptions
    : public PassPipelineOptions<SparseKCPUPipelineOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Give every public function a C-callable "
                     "_mlir_ciface_ wrapper (llvm.emit_c_interface), and "
                     "destination-passing ones a shape-checked NAME_checked "
                     "entry point returning a status code"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Lower scf.forall to scf.parallel instead of scf.for "
                     "(the loops stay sequential on the CPU either way)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> parallelSelection{
      *this, "parallel-selection",
      llvm::cl::desc("Selection in parallel along the row, as on the GPU "
                     "(convert-sparsek-to-linalg{parallel-selection}); off: "
                     "one sequential sweep per row, the faster choice on "
                     "one core"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> fusedBlockSize{
      *this, "fused-block-size",
      llvm::cl::desc("> 0: the causal layer as block selection + block "
                     "attention over blocks of this many queries, as on "
                     "the GPU (convert-sparsek-to-linalg{fused-block-size})"),
      llvm::cl::init(0)};
};

/// The stages both pipelines begin with: (with emitCInterface) the
/// sparsek-checked-entry-points, (forGPU with `tensorCores`)
/// convert-sparsek-to-gpu with those options, convert-sparsek-to-linalg,
/// (forGPU) sparsek-gpu-map-forall, canonicalize, cse,
/// convert-elementwise-to-linalg, one-shot-bufferize (function boundaries,
/// fully dynamic strided layouts), buffer-deallocation-pipeline.
void buildSparseKBufferizedStages(
    OpPassManager &pm, bool emitCInterface, bool forGPU,
    bool parallelSelection, int64_t fusedBlockSize,
    const ConvertSparseKToGPUPassOptions *tensorCores = nullptr);

/// sparsek ops mixed with func/arith/tensor/linalg/bufferization on tensors
/// => LLVM dialect that mlir-runner or the AOT compiler can run:
///   1. convert-sparsek-to-linalg, canonicalize, cse
///   2. convert-elementwise-to-linalg, one-shot-bufferize (function
///      boundaries, fully dynamic strided layouts: callers pass any view),
///      buffer-deallocation-pipeline,
///      sparsek-expand-memref-copy (no calls into MLIR's runner library)
///   3. scf.forall => scf.for, linalg => loops, affine/strided metadata
///   4. arith (bf16 expanded), math, scf/cf, memref, func, index => LLVM
void buildSparseKCPUPipeline(OpPassManager &pm,
                             const SparseKCPUPipelineOptions &options);

/// Options of `sparsek-nvvm-pipeline`.
struct SparseKNVVMPipelineOptions
    : public PassPipelineOptions<SparseKNVVMPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target GPU (sm_80, sm_90, sm_90a, ...)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features; sm_90 needs PTX ISA 7.8 or newer, and "
                     "8.1 for the backward kernel's vector reductions "
                     "(default +ptx81, or the chip's least PTX version if "
                     "newer: +ptx86 for sm_100)"),
      llvm::cl::init("+ptx81")};
  PassOptions::Option<int> optLevel{
      *this, "opt-level",
      llvm::cl::desc("Optimisation level of the device code (0-3)"),
      llvm::cl::init(2)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device code embedded in gpu.binary: isa (PTX), bin "
                     "(cubin, via ptxas) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("C-callable _mlir_ciface_ wrappers and shape-checked "
                     "entry points, as in sparsek-cpu-pipeline"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block along the innermost parallel "
                     "dimension (queries of gathered attention, keys of "
                     "score)"),
      llvm::cl::init(128)};
  PassOptions::Option<bool> parallelSelection{
      *this, "parallel-selection",
      llvm::cl::desc("Selection in parallel along the row "
                     "(convert-sparsek-to-linalg{parallel-selection}); off: "
                     "one GPU thread per row sweeps it sequentially"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseAttention{
      *this, "fuse-attention",
      llvm::cl::desc("The causal layer as block selection + block attention "
                     "over blocks of block-size queries (one GPU block "
                     "each: its threads walk the same keys); off: "
                     "thresholds, top-k indices and gathered attention"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("With fuse-attention: the fused tensor-core kernel "
                     "(convert-sparsek-to-gpu, query blocks of block-size) "
                     "for the layers and block attentions it covers (f16 or "
                     "bf16, D and Dv in {64, 128}); off, or for the others: "
                     "one thread per query"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> keyTile{
      *this, "key-tile",
      llvm::cl::desc("Keys per shared-memory tile of the tensor-core "
                     "kernel (convert-sparsek-to-gpu{key-tile}); given, it "
                     "overrides the tuning table's (stages above 48 KiB of "
                     "shared memory take dynamic shared memory)"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> pingPong{
      *this, "ping-pong",
      llvm::cl::desc("The forward tensor-core kernel's warps in two groups "
                     "half a tile apart (convert-sparsek-to-gpu{ping-pong}): "
                     "1 or 0; given, it overrides the tuning table's"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> wgmma{
      *this, "wgmma",
      llvm::cl::desc("The forward tensor-core kernel's matrix multiplies by "
                     "wgmma (convert-sparsek-to-gpu{wgmma}; chip=sm_90a "
                     "only): 1 or 0; given, it overrides the tuning "
                     "table's"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> tuningFile{
      *this, "tuning-file",
      llvm::cl::desc("A tuning table whose lines come before the built-in "
                     "one's (convert-sparsek-to-gpu{tuning-file})"),
      llvm::cl::init("")};
  PassOptions::Option<bool> printTuning{
      *this, "print-tuning",
      llvm::cl::desc("A remark per tuned op: the parameters chosen and "
                     "where they come from (convert-sparsek-to-gpu"
                     "{print-tuning})"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> decodePhase1Tiles{
      *this, "decode-phase1-tiles",
      llvm::cl::desc("convert-sparsek-to-gpu{decode-phase1-tiles} (-1: the "
                     "tuning table's)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> decodePreIssue{
      *this, "decode-pre-issue",
      llvm::cl::desc("convert-sparsek-to-gpu{decode-pre-issue} (-1: the "
                     "tuning table's)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> decodeFusedLengths{
      *this, "decode-fused-lengths",
      llvm::cl::desc("convert-sparsek-to-gpu{decode-fused-lengths} (-1: the "
                     "tuning table's)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> decodeTargetBlocks{
      *this, "decode-target-blocks",
      llvm::cl::desc("convert-sparsek-to-gpu{decode-target-blocks} (-1: the "
                     "tuning table's)"),
      llvm::cl::init(-1)};
  PassOptions::Option<int64_t> decodeMinBlocks{
      *this, "decode-min-blocks",
      llvm::cl::desc("convert-sparsek-to-gpu{decode-min-blocks} (-1: the "
                     "tuning table's)"),
      llvm::cl::init(-1)};
  PassOptions::Option<std::string> gridDependency{
      *this, "grid-dependency",
      llvm::cl::desc("Programmatic dependent launch on sm_90 and newer "
                     "(sparsek-gpu-grid-dependency): off, wait (each kernel "
                     "waits for its stream predecessor itself, so the "
                     "runtime may start it early) or trigger (also lets the "
                     "next kernel be scheduled once every block has "
                     "started: slower, NOTES run 189); ignored below "
                     "sm_90"),
      llvm::cl::init("wait")};
};

/// sparsek ops (with func/arith/tensor/linalg/bufferization) => host LLVM
/// dialect with the kernels embedded as gpu.binary, launched through
/// gpu.launch_func (runtime: libsparsek_cuda_runtime). Entry points take
/// device memory. Stages, after upstream's GPUToNVVMPipeline:
///   common: (tensor-cores) convert-sparsek-to-gpu, the layers and block
///           attentions the tensor-core kernel covers as kernel stubs;
///           convert-sparsek-to-linalg; bufferization and deallocation;
///           sparsek-expand-kernel-stubs (the stubs' gpu.launch);
///           sparsek-forall-bodies-to-loops (an iteration is one thread's
///           work); sparsek-host-buffers-to-gpu; the remaining linalg ops
///           to parallel loops; scf.forall to scf.parallel; tiling of
///           the innermost parallel dimension by block-size (threads);
///           gpu-map-parallel-loops; convert-parallel-loops-to-gpu
///   gpu.module and host: sparsek-gpu-kernel-outlining (upstream
///           outlining keeping the launches' nvvm.* attributes),
///           symbol-dce (the host's copies of the kernels'
///           shared-memory globals), on sm_90+ sparsek-gpu-grid-dependency
///           (kernels wait for their stream predecessor themselves, so the
///           runtime launches them early), sparsek-gpu-legalize-chip (for
///           chips before sm_90 or older PTX versions, the builders'
///           Hopper-only hints removed: prefetches, griddepcontrol), then
///           upstream's
///           gpu-lower-to-nvvm-pipeline (NVVM, gpu-module-to-binary,
///           gpu-to-llvm)
void buildSparseKNVVMPipeline(OpPassManager &pm,
                              const SparseKNVVMPipelineOptions &options);

/// Checks the options before anything reaches upstream (whose NVVM target
/// verifier crashes on an empty chip, whose NVPTX backend aborts on a chip
/// it does not know or a PTX version below the chip's least, and whose
/// binary serializer only prints a bad format): chip `sm_<digits>[a-z]`
/// that LLVM 22 knows, sm_80 or newer (the kernels' cp.async and bf16
/// mma.sync), features empty or `+ptx<digits>`
/// naming a PTX ISA version LLVM 22 knows, at least the chip's least (7.8
/// for sm_90, 8.0 for sm_90a), format isa|bin|fatbin, opt-level 0-3, block-size 1-1024
/// (CUDA's limit on threads per block), key-tile 16, 32, 48 or 64,
/// grid-dependency off|wait|trigger. Calls `error` with the first rule
/// broken and fails.
LogicalResult
verifySparseKNVVMPipelineOptions(const SparseKNVVMPipelineOptions &options,
                                 function_ref<void(const Twine &)> error);

/// Registers `sparsek-cpu-pipeline` and `sparsek-nvvm-pipeline`.
void registerSparseKPipelines();

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_PIPELINES_PIPELINES_H
