//===- Passes.td - sparsek's generic passes ----------------*- tablegen -*-===//
//
// Passes of the sparsek pipelines that never touch a sparsek op: buffer,
// copy and loop rewrites on upstream dialects (CIRCT and upstream keep such
// passes in a Transforms/ of their own).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_TRANSFORMS_PASSES_TD
#define SPARSEK_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SparseKExpandMemRefCopyPass : Pass<"sparsek-expand-memref-copy"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    A `memref.copy` between memrefs whose shapes are not static lowers to a
    call into MLIR's C runner library (`memrefCopy`). Code compiled by
    sparsek must run with libc alone, so the CPU pipeline rewrites every
    copy, after bufferization, as a structured op that later becomes loops:

        memref.copy %src, %dst : memref<?x?xf32> to memref<?x?xf32>
          => linalg.copy ins(%src : memref<?x?xf32>) outs(%dst : memref<?x?xf32>)
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SparseKForallBodiesToLoopsPass : Pass<"sparsek-forall-bodies-to-loops"> {
  let summary = "Lower linalg ops inside scf.forall bodies to scf.for loops";
  let description = [{
    The GPU pipeline maps each `scf.forall` iteration (a (batch, head) row,
    or a query) to one GPU thread. Structured ops inside an iteration are
    that thread's sequential work, so they become plain loops before the
    remaining (top-level) linalg ops become parallel loops:

        scf.forall ... { linalg.fill ins(%c) outs(%buf) }
          => scf.forall ... { scf.for %i ... { memref.store %c, %buf[%i] } }
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def SparseKCollapseParallelLoopsPass
    : Pass<"sparsek-collapse-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Collapse each outermost scf.parallel into one dimension";
  let description = [{
    The GPU pipeline maps a parallel loop's dimensions to the grid's x, y
    and z, in order, after tiling the first one into blocks of threads. A
    structured op's loops come in memory order (batch, heads, rows,
    columns): mapped as they are, the threads of a block would run along a
    leading dimension of size 1, a fourth dimension would be sequential,
    and a row dimension past 65535 exceeds the grid's y and z limits (a
    backward at 64K tokens failed to launch). Collapsed into one dimension
    (row-major, the last dimension fastest, so neighbouring threads touch
    neighbouring elements), the loop becomes blocks of threads along x:

        scf.parallel (%b, %h, %i, %d) = (0, 0, 0, 0) to (%B, %H, %N, %D)
          => scf.parallel (%f) = (0) to (%B * %H * %N * %D)
             with %b, %h, %i, %d recovered from %f by div/rem

    Runs on the loops of top-level structured ops, before `scf.forall`s
    (whose first dimension is already the long one) become parallel loops.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"
  ];
}

def SparseKHostBuffersToGPUPass : Pass<"sparsek-host-buffers-to-gpu"> {
  let summary = "Allocate, copy and free host-level buffers on the GPU";
  let description = [{
    In the GPU pipeline every buffer a kernel touches lives in device memory:
    the entry point's memref arguments are device pointers, and the buffers
    the host code allocates between kernels become device allocations:

        memref.alloc() : memref<...>   => gpu.alloc() : memref<...>
        memref.dealloc %m              => gpu.dealloc %m
        memref.copy %a, %b             => gpu.memcpy %b, %a
        linalg.fill ins(%v) outs(%m)   => gpu.memset %m, %v   (16/32-bit)

    `gpu.memcpy` moves one contiguous run of bytes from each operand's
    aligned pointer: its lowering reads neither offsets nor strides. So a
    copy whose source or target is a view that may not be plain (a strided
    layout: an entry point's `strided<[?, ...], offset: ?>` argument, which
    a caller may pass a transposed tensor for) becomes
    `scf.if (row-major from offset 0 at run time) { gpu.memcpy } else
    { memref.copy }`, the latter a copy kernel that follows the strides
    (`sparsek-expand-memref-copy`). A fill of a 16- or 32-bit element type
    becomes `gpu.memset` (the driver's memset runs near the copy bandwidth;
    the fill's own kernel stores one element per thread), under the same
    run-time check when its target is a view; other fills stay kernels.

    Ops inside `scf.forall`, `scf.parallel` or `gpu.launch` bodies are the
    kernels' own (per-thread scratch, device `malloc`) and are left alone.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def SparseKGPUMapForallPass : Pass<"sparsek-gpu-map-forall"> {
  let summary = "Map every unmapped scf.forall to GPU blocks";
  let description = [{
    The GPU pipeline's first decision, right after
    `convert-sparsek-to-linalg` (which is target-neutral): every
    `scf.forall` without a mapping is an independent work item (a row, a
    query) and gets `#gpu.block<x>`, `<y>`, `<z>` in dimension order:

        scf.forall (%i, %j) in (%n, %h)
          => scf.forall (%i, %j) in (%n, %h)
               {mapping = [#gpu.block<x>, #gpu.block<y>]}

    The mapping also keeps the canonicalizer from inlining a forall of one
    iteration (B = H = 1) into the surrounding code, which on the GPU path
    is host code that must not touch device memory.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def SparseKGPUSingleStreamPass : Pass<"sparsek-gpu-single-stream", "::mlir::ModuleOp"> {
  let summary = "One CUDA stream per host function call, synchronized where the host needs it";
  let description = [{
    Runs on the host code after `gpu-to-llvm`. `gpu-async-region` makes
    each straight-line piece of host code between control flow (the rounds
    of a selection tree, the run-time dispatch) its own async region: a
    stream created, the region's work on it, a `mgpuStreamSynchronize` and
    a destroy. A layer call is then dozens of host round trips, each
    leaving the GPU idle while the host wakes up and launches the next
    kernel. This pass gives each host function one stream, created at
    entry and synchronized and destroyed before each return; the work of
    every region goes on it in program order (so it stays ordered), and a
    region's synchronization is kept only where the host may read what
    the region produced: after an `mgpuMemcpy`.

        %s1 = mgpuStreamCreate()         %s = mgpuStreamCreate()  (entry)
        launch <%s1> ...                 launch <%s> ...
        mgpuStreamSynchronize(%s1)  =>
        mgpuStreamDestroy(%s1)
        %s2 = mgpuStreamCreate()
        launch <%s2> ...                 launch <%s> ...
        ...                              mgpuStreamSynchronize(%s)
        llvm.return                      mgpuStreamDestroy(%s)
                                         llvm.return

    A function is left as it is when any launch, allocation, copy, free or
    event op in it uses a stream that is not one of its created streams
    (a null stream would not be ordered with a non-blocking one).
  }];
}

def SparseKGPUKernelOutliningPass
    : Pass<"sparsek-gpu-kernel-outlining", "::mlir::ModuleOp"> {
  let summary = "gpu-kernel-outlining that keeps each launch's nvvm.* attributes on its kernel";
  let description = [{
    Upstream `gpu-kernel-outlining` (each `gpu.launch` body becomes a
    `gpu.func` in a `gpu.module` of its own, launched by
    `gpu.launch_func`), except that a launch's discardable attributes in
    the `nvvm` namespace move to the kernel it becomes, where the NVVM
    lowering reads them. The SparseK-to-GPU conversion marks a launch with
    `nvvm.minctasm` when its kernel should keep enough blocks resident per
    SM (ptxas then bounds its registers: `.minnctapersm` in the PTX):

        gpu.launch ... { ... } {nvvm.minctasm = 3 : i32}
          => gpu.func @f_kernel(...) kernel attributes {
               known_block_size = ..., nvvm.minctasm = 3 : i32, ...}

    Launches and the `gpu.launch_func` ops that replace them are paired by
    their order in each function (outlining replaces each launch in
    place).
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::cf::ControlFlowDialect"];
}

def SparseKGPUGridDependencyPass
    : Pass<"sparsek-gpu-grid-dependency", "::mlir::ModuleOp"> {
  let summary = "Kernels that wait for their stream predecessor themselves (programmatic dependent launch, sm_90+)";
  let description = [{
    On Hopper a kernel may be launched with programmatic stream
    serialization: it starts while the kernel before it on the stream
    still runs (once that kernel's blocks have all triggered or exited),
    and must itself wait, by `griddepcontrol.wait`, before it touches
    memory the earlier kernel writes. A layer call is dozens of short
    kernels on one stream, and the gap between two of them (the next
    grid's launch after the previous grid's end) is a few microseconds
    each.

    This pass makes every kernel safe to launch that way: the first
    operations of each `gpu.func` kernel become

        nvvm.griddepcontrol wait                (mode wait, trigger)
        nvvm.griddepcontrol launch_dependents   (mode trigger)

    so that no thread reads or writes global memory before its stream
    predecessors have completed and their memory is visible (a wait
    implies every earlier kernel's completion, since each waited in turn),
    and, with `trigger`, the next kernel may be scheduled as soon as every
    block of this one has started (its blocks then wait on the SMs this
    kernel's last wave leaves free). On an H200 (NOTES run 189) `wait`
    took the 64K layer from 1.445 to 1.421 ms and decoding steps by 3-5
    us; `trigger` made the layer slower (1.475-1.497 ms), so `wait` is the
    default. Each `gpu.module` also gets the public
    global `__sparsek_grid_dependency_wait` (an i32 1): the runtime library
    (`mgpuLaunchKernel`) launches a module's kernels with programmatic
    stream serialization only when the module holds it, on a device of
    compute capability 9.0 or more, unless `SPARSEK_PDL=0`; kernels
    launched without it wait for nothing (the instruction returns at
    once).

    A kernel builder may place its own waits instead, after work that
    reads nothing its predecessor writes (the decode step's split tile
    kernel computes its window tiles first, while the update kernel,
    which triggers its dependents at once, still runs): a kernel that
    already holds a `griddepcontrol wait` gets no entry wait. Every thread
    of such a kernel must execute a wait before it touches memory its
    predecessor writes, and at least one thread of the grid must wait
    before the grid ends (the next kernel's wait covers only this one).

    `mode=off` (the pipeline's `grid-dependency=off`) removes every
    `griddepcontrol` operation the builders placed (each is a no-op in a
    plain launch) and adds no marker. `griddepcontrol` needs sm_90 and
    PTX ISA 7.8: `sparsek-nvvm-pipeline` runs this pass only for such
    chips, and `sparsek-gpu-legalize-chip` removes the builders'
    operations for older ones.
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"wait\"",
           "wait (each kernel waits at its start), trigger (it also lets "
           "the next kernel be scheduled at once) or off (the builders' "
           "griddepcontrol operations removed)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def SparseKGPULegalizeChipPass
    : Pass<"sparsek-gpu-legalize-chip", "::mlir::ModuleOp"> {
  let summary = "Remove the Hopper-only hints the kernel builders emit, for chips before sm_90";
  let description = [{
    The kernel builders emit a few NVVM operations that only sm_90 and
    newer have and that change nothing a kernel computes: `nvvm.prefetch`
    (the decode update's L1 prefetch of the heaps' lines; LLVM's NVPTX
    backend selects it only for sm_90) and `nvvm.griddepcontrol` (a wait
    or trigger of a programmatic dependent launch, a no-op in a plain
    launch). This pass erases them inside every `gpu.module` where the
    target lacks them, so that the same kernels compile there: both for a
    `chip` before sm_90, the prefetches also below PTX ISA 8.0 and
    `griddepcontrol` below 7.8 (LLVM's NVPTX aborts on them otherwise).
    `sparsek-nvvm-pipeline` runs it for its chip and features (without
    features, the chip's least PTX version, which LLVM then uses).
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "the target chip, sm_<number>">,
    Option<"ptx", "ptx", "unsigned", /*default=*/"81",
           "the PTX ISA version, times ten (81: PTX ISA 8.1)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // SPARSEK_TRANSFORMS_PASSES_TD
