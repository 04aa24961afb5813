//===- Passes.td - sparsek conversion passes ---------------*- tablegen -*-===//

#ifndef SPARSEK_CONVERSION_PASSES_TD
#define SPARSEK_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSparseKToLinalgPass : Pass<"convert-sparsek-to-linalg"> {
  let summary = "Lower every sparsek op to linalg, tensor, scf, arith and math";
  let description = [{
    Lowers the six sparsek ops on tensors, keeping section 7 of `docs/Semantics.md` (nothing
    of size N x M, no O(N M) work):

        sparsek.score              => linalg.generic (bias + slope * j), then
                                      linalg.generic (reduction over C)
        sparsek.mask               => scf.for of 32 exact bisection steps over
                                      the ordered bit patterns of f32, each a
                                      linalg.generic reduction along n (terms
                                      in [0, 1], f64), and one reduction
                                      counting entries above -inf:
                                      O(33 n) per row, fully parallel
        sparsek.threshold          => scf.forall over (B, Hkv); per row an
                                      incremental sweep with two min-heaps
                                      (capped and fractional keys; each key
                                      moves capped -> fractional -> dead at
                                      most once): O(M log M); fractional sums
                                      kept relative to floor(t), exact for any
                                      finite scores
        sparsek.topk               => scf.forall over (B, Hkv); per row a
                                      k-sized min-heap over (score, index):
                                      O(M log k + N k log k)
        threshold, topk and
        block_select with
        parallel-selection         => two merge-sort trees of arity 4
                                      (W2: the keys' merge sort by score;
                                      W1: rank runs merged by key, with
                                      fractional-part sums), each round a
                                      forall over keys; then one thread
                                      per query (tau: two binary searches
                                      over the sorted scores, bracketed
                                      by sampled queries, each probe one
                                      walk down W1; kth: a quantile) or
                                      per output entry (topk: by blocks
                                      of 32 queries, each list the merge
                                      of its block's first with the
                                      keys arrived since):
                                      O((M + N) log^2 M), no sequential
                                      sweep or scan along the row
        sparsek.gathered_attention => scf.forall over (B, Hq, N); per query
                                      an online (max-subtracted) softmax over
                                      its window rows and selected rows:
                                      O((k + w) D), O(Dv) memory
        sparsek.attention          => sparsek-decompose's split, then the
                                      above; a causal layer with a dynamic N
                                      directly with the same builders (N
                                      from q)
        any sparsek op whose results
        are statically empty       => tensor.empty

    f16/bf16 inputs are extended to f32 for arithmetic. Threshold and topk
    learn N from their result types, so a dynamic N there is an error
    (diagnosed). Loops are target-neutral scf.forall; where they run is the
    pipeline's decision.
  }];
  let options = [
    Option<"parallelSelection", "parallel-selection", "bool",
           /*default=*/"false",
           "Thresholds, top-k and block selections in parallel along the "
           "row (ParallelSelection.cpp: merge-sort trees of arity 4 "
           "built by merge rounds, per-query searches; O((M + N) log^2 M) "
           "work, O(log M) launches) instead of one sequential sweep per "
           "row (O(M log M)). The GPU pipeline's choice.">,
    Option<"fusedBlockSize", "fused-block-size", "int64_t",
           /*default=*/"0",
           "> 0: a causal sparsek.attention (any N) lowers to block "
           "selection (sparsek.block_select's builders) + block attention "
           "(sparsek.block_attention's) over blocks of this many queries: "
           "per query, the block's window run and selection union, walked "
           "in the same order by every query of a block. 0: thresholds, "
           "top-k and gathered attention.">,
    Option<"gpu", "gpu", "bool", /*default=*/"false",
           "The module is for the GPU pipeline: a sparsek.decode_step left "
           "here (convert-sparsek-to-gpu's decode kernels cover f16/bf16 "
           "with D = Dv of 64 or 128) is an error; its generic lowering "
           "is for the CPU only (on the GPU it gives wrong outputs, "
           "bench/NOTES.md run 65).">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ConvertSparseKToGPUPass : Pass<"convert-sparsek-to-gpu", "::mlir::ModuleOp"> {
  let summary = "The fused tensor-core attention kernel for causal layers and block attention";
  let description = [{
    Rewrites, on tensors, each `sparsek.block_attention` and each causal
    `sparsek.attention` that the tensor-core kernel covers (f16 or bf16,
    static head dims D and Dv in {64, 128}, a query block of whole warps:
    a multiple of 16, or of 8 with heads packed in pairs, up to 128 rows)
    into a launch of one generated kernel
    (`lib/Conversion/SparseKToGPU`, `docs/design/TensorCoreAttention.md`):

        sparsek.attention (causal) => block selection (the builders of
                                      sparsek.block_select, in parallel
                                      along the row with parallel-selection)
                                      + the block attention launch below
        sparsek.block_attention    => bufferization.to_buffer of each
                                      operand, memref.alloc of the result,
                                      a func.call of the kernel's stub (a
                                      private bodiless func.func carrying
                                      the configuration in its
                                      `sparsek.kernel` attribute),
                                      bufferization.to_tensor

    Buffers are then allocated and freed around the call as around any
    call; `sparsek-expand-kernel-stubs` replaces it by the kernel's
    gpu.launch afterwards (the deallocation passes cannot look into a
    kernel body, whose GPU ops declare no memory effects).

    The kernel: one thread block per (batch, KV head, block of queries,
    group of query heads of that KV head, which share the gathered rows),
    16 rows per warp (8 queries of two heads, whose membership test and
    weights are computed once, or 16 queries of one head); key tiles
    gathered by 16-byte cp.async into XOR-swizzled shared memory, two
    stages; S = Q K^T and O += P V with ldmatrix + mma.sync (m16n8k16, f32
    accumulators); membership, gate weights and online softmax in
    registers. With a dynamic group size Hq / Hkv, the 4-head and 1-head
    layouts each get their own block selection and one is chosen at run
    time. One kernel per (element type, D, Dv, query block, heads per
    block, key tile, window, gate, scale).

    Tile parameters come from the tuning table
    (`lib/Conversion/SparseKToGPU/TuningTable.txt`, format and lookup in
    `Tuning.h`; `bench/tune.py` measures and writes it) for the op's chip,
    element type, head dims, k, window and group size: the block size
    (rows) from the line matching the op (its head dims when static), the
    key tile from the line matching each kernel's head dims (a tile that
    does not fit in shared memory falls back to smaller ones), the decode
    step's schedule from a `decode` line. Options given explicitly
    override the table; `print-tuning` reports each choice as a remark.

    A causal `sparsek.attention_backward` becomes the same block selection,
    the backward kernel, du's threshold-term launches and the narrowing of
    dkey and dvalue. A layer that returns its log-sum-exp gets the kernel
    that writes it; a backward given it, the kernel without the statistics
    sweep. A selection already built for the same scores, queries, k,
    window and query block earlier in the same block is reused: the
    forward and the backward of a training step in one function select
    once.

    Selection runs in parallel along the row (parallel-selection, the
    default) with the selection's GPU kernels: the merge-sort trees' levels
    1..5 are built tile by tile in shared memory, one launch per tree
    (`MergeTileKernel.cpp`, a `merge_tiles` stub); block_select's unions
    and counts come from one launch of per-block compaction, only every
    (2k / block)-th block walking the tree for its first query's selection
    (`UnionBlocksKernel.cpp`, a `union_blocks` stub); the levels above the
    tiles and the per-query steps are the linalg builders' foralls. The standalone
    `sparsek.threshold`, `sparsek.topk` and `sparsek.block_select` (with a
    static N, or block_select's `queries`) are lowered here the same way.

    Ops it does not cover are left for `convert-sparsek-to-linalg`. q, key,
    value and the result must have unit innermost strides at run time (what
    `sparsek-checked-entry-points` guarantees for C callers).
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"0",
           "Rows per thread block (16 per warp): a causal sparsek.attention "
           "gets blocks of block-size / HB queries of HB query heads (HB = 4, "
           "2 or 1, the first that divides Hq / Hkv); a "
           "sparsek.block_attention keeps its own block_size and packs heads "
           "up to block-size rows. 0: the tuning table's (per op); given, "
           "it applies to every op.">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"0",
           "Keys per shared-memory tile (a multiple of 16 up to 64; stages "
           "above 48 KiB in dynamic shared memory). 0: the tuning table's "
           "(per kernel, falling back to smaller tiles where it does not "
           "fit in shared memory); given, it applies to every kernel (one "
           "that does not fit leaves its layer to the linalg lowering).">,
    Option<"pingPong", "ping-pong", "int64_t", /*default=*/"-1",
           "1: forward kernels of eight warps run them in two groups half a "
           "tile apart, over three shared stages (one group's softmax "
           "overlapping the other's MMAs); 0: all warps in step, two "
           "stages. -1: the tuning table's (per op).">,
    Option<"wgmma", "wgmma", "int64_t", /*default=*/"-1",
           "1: forward kernels of whole warpgroups with key tiles of 64 do "
           "their matrix multiplies by wgmma (the chip must be sm_90a); 0: "
           "mma.sync. -1: the tuning table's (per op).">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "The GPU the tuning table is looked up for (sm_<digits>[a-z]).">,
    Option<"tuningFile", "tuning-file", "std::string", /*default=*/"\"\"",
           "A tuning table in TuningTable.txt's format whose lines come "
           "before the built-in table's (lib/Conversion/SparseKToGPU/"
           "Tuning.h).">,
    Option<"printTuning", "print-tuning", "bool", /*default=*/"false",
           "A remark at each op converted: its configuration's keys, the "
           "parameters chosen and the table line (or option) they come "
           "from.">,
    Option<"decodePhase1Tiles", "decode-phase1-tiles", "int64_t",
           /*default=*/"-1",
           "The decode step's fused kernel: window tiles each of warps 1..3 "
           "computes while warp 0 updates the row (0 to 64; -1: the tuning "
           "table's).">,
    Option<"decodePreIssue", "decode-pre-issue", "int64_t", /*default=*/"-1",
           "The decode step's fused kernel: tiles each warp has in flight "
           "when the update starts (1 or 2; -1: the tuning table's).">,
    Option<"decodeFusedLengths", "decode-fused-lengths", "int64_t",
           /*default=*/"-1",
           "The decode step's fused kernel advances the sequences' lengths "
           "itself (1: the last block of each sequence, counted in the "
           "state; 0: a launch of their own; -1: the tuning table's).">,
    Option<"decodeMinBlocks", "decode-min-blocks", "int64_t",
           /*default=*/"-1",
           "The decode step's attention kernels (fused and split): blocks "
           "each SM must hold at once, a bound on their registers "
           "(nvvm.minctasm; 1 to 8; 0: no bound; -1: the tuning "
           "table's).">,
    Option<"decodeTargetBlocks", "decode-target-blocks", "int64_t",
           /*default=*/"-1",
           "The decode step's attention: thread blocks it aims at (rows x "
           "splits of each row's slots; one split per row, the fused "
           "kernel, from that many rows on; 1 to 65536; -1: the tuning "
           "table's).">,
    Option<"parallelSelection", "parallel-selection", "bool",
           /*default=*/"true",
           "Build the block selection of a causal layer, and the "
           "standalone threshold, topk and block_select, in parallel along "
           "the row with the selection's GPU kernels (as "
           "convert-sparsek-to-linalg{parallel-selection}, whose forall "
           "rounds the merge-tile kernels replace for the trees' lower "
           "levels). false: the selection ops are left for "
           "convert-sparsek-to-linalg.">,
    Option<"vectorReductions", "vector-reductions", "bool",
           /*default=*/"false",
           "The backward kernel adds its dkey and dvalue tiles by "
           "red.global.add.v4.f32 (needs sm_90 and PTX ISA 8.1) instead of "
           "scalar atomics; sparsek-nvvm-pipeline sets it from its chip and "
           "features.">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SparseKExpandKernelStubsPass
    : Pass<"sparsek-expand-kernel-stubs", "::mlir::ModuleOp"> {
  let summary = "Replace calls of kernel stubs by the kernels' gpu.launch";
  let description = [{
    Each `func.call` of a kernel stub that `convert-sparsek-to-gpu` created
    (a private, bodiless function with a `sparsek.kernel` configuration)
    becomes a `gpu.launch` of the generated kernel on the call's memref
    operands; shared tiles are private workgroup `memref.global`s aligned to
    128 bytes (kernel outlining copies them into the kernel's module).
    Unused stubs are erased. Runs after bufferization and buffer
    deallocation, before kernel outlining.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // SPARSEK_CONVERSION_PASSES_TD
