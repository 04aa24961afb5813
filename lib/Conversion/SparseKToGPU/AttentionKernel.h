//===- AttentionKernel.h - the fused tensor-core attention kernel -*- C++ -*-===//
//
// A gpu.launch computing sparsek.block_attention (docs/Semantics.md section 6
// organised by query blocks, docs/design/TensorCoreAttention.md):
// FlashAttention-2 style, one thread block per (batch, KV head, block of
// `blockQ` queries, group of `heads` query heads), 16 rows per warp (8
// queries of two heads, or 16 of one), keys in tiles of `keyTile` gathered
// by cp.async into swizzled shared memory (2 stages), S = Q K^T and O += P V
// with mma.sync (or, on sm_90a, warpgroup wgmma: AttentionKernelConfig::
// wgmma), gate weights and the membership test in registers (none for
// window tiles every query attends to whole), online softmax with quad
// shuffles.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_ATTENTIONKERNEL_H
#define SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_ATTENTIONKERNEL_H

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <string>

namespace mlir::sparsek::gpu_kernels {

struct AttentionKernelConfig {
  Type elem;          // f16 or bf16 (q, key, value, out)
  int64_t d = 0;      // head dim of q and key
  int64_t dv = 0;     // head dim of value
  int64_t blockQ = 0; // queries per thread block (the selection's block)
  int64_t heads = 1;  // query heads per thread block (of one KV head)
  int64_t keyTile = 0;
  int64_t window = 0;
  double scale = 0;   // softmax scale
  Gate gate = Gate::kv;
  /// The backward kernel (sparsek.attention_backward's gradients) instead
  /// of the forward one.
  bool backward = false;
  /// The backward kernel adds its dkey and dvalue tiles into the f32
  /// buffers by red.global.add.v4.f32 (sm_90, PTX ISA 8.1), a quarter of
  /// the scalar atomics' instructions; otherwise by scalar atomics.
  bool vectorReductions = false;
  /// The log-sum-exp of every row ([B, Hq, N] f32, natural log, the last
  /// stub operand): the forward kernel writes it, the backward kernel reads
  /// it instead of finding it in a first sweep over the keys.
  bool lse = false;
  /// The backward kernel without floating-point atomics (bitwise the same
  /// results run to run): a thread block walks a chunk of consecutive
  /// query blocks in order and writes its dkey, dvalue and du partial sums
  /// into its own slots of a scratch buffer (buildDeterministicSlotsLaunches
  /// numbers them), which buildDeterministicReduceLaunches adds in a fixed
  /// order; dtau per query head, summed there too.
  bool deterministic = false;
  /// The forward kernel with its warps in two groups half a tile apart
  /// (warps 0..W/2-1 compute a tile's S, softmax and P V in that order;
  /// warps W/2.. the previous tile's softmax and P V, then this tile's S),
  /// so that the two warps of a scheduler overlap one's softmax with the
  /// other's MMAs; three stages. Eight warps only.
  bool pingpong = false;
  /// Ping-pong needs two groups of four warps in a forward kernel (the
  /// tile's key arrays are written by the first group's threads, tid <
  /// key tile).
  bool pingPongAllowed() const { return !backward && warps() == 8; }
  /// The forward kernel's matrix multiplies by warpgroup wgmma (sm_90a)
  /// instead of per-warp mma.sync: the block's Q rows staged once in
  /// shared memory, S = Q K^T with both operands there, O += P V with P
  /// in registers (wgmma's register-A form), K, V and Q in 128-byte
  /// swizzled planes of 64 columns. The accumulators keep mma.sync's
  /// layout, so the softmax is the same code.
  bool wgmma = false;
  /// wgmma needs a forward kernel of whole warpgroups (4 or 8 warps) and
  /// key tiles of 64 (the size measured).
  bool wgmmaAllowed() const {
    return !backward && warps() % 4 == 0 && keyTile == 64;
  }
  /// The chip wgmma needs (cubins for it run on sm_90 devices only).
  static constexpr llvm::StringLiteral kWgmmaChip = "sm_90a";
  static constexpr int64_t kStages = 2;
  /// Shared stages of K, V and the key arrays.
  int64_t stages() const { return pingpong || deferPvWait() ? 3 : kStages; }
  /// The wgmma kernel in step leaves each tile's O += P V in flight until
  /// the next tile's S = Q K^T waits (a warpgroup's wgmma groups complete
  /// in order; the kernel's end waits for the last): the tensor cores run
  /// P V through the loop's barrier and the next S's issue. A warpgroup
  /// may then still read tile t's V stage after the barrier of tile t + 1,
  /// whose copies refill stage t + 2: three stages keep them apart.
  bool deferPvWait() const { return wgmma && !pingpong && !backward; }

  /// Warps hold 16 rows: with an even head count, 8 queries of two heads
  /// (rows g and g + 8 of a lane are one query, so its membership test
  /// and weights serve both), otherwise 16 queries of one head.
  bool headPairs() const { return heads % 2 == 0; }
  int64_t warps() const { return blockQ * heads / 16; }
  int64_t threads() const { return 32 * warps(); }
  /// Shared memory in bytes: static for the forward kernel up to 48 KiB,
  /// dynamic beyond and for the backward one (which also keeps the block's
  /// Q and dO rows and the tile's dS and P).
  int64_t sharedBytes() const;
  /// The stages of K, V and the key arrays in bytes (the forward kernel's
  /// whole shared memory, static up to 48 KiB).
  int64_t stageBytes() const;
  /// Whether the kernel's tiles are views of dynamic shared memory (the
  /// backward kernel's and the wgmma forward's always; the forward's when
  /// its stages exceed the 48 KiB of static shared memory ptxas accepts).
  bool dynamicShared() const;
  /// The most shared memory a kernel may take (dynamic, opted in at
  /// launch; an SM has 227 KiB).
  static constexpr int64_t kMaxSharedBytes = 200 * 1024;
  /// Lowers the key tile (by steps of 16, keeping every other field) until
  /// the kernel's shared memory fits kMaxSharedBytes; false when no tile
  /// does.
  bool shrinkToFit();
  /// Row stride (elements) of the backward kernel's dS and P tiles: the
  /// key tile plus one 16-byte chunk, so that ldmatrix's 8 rows fall in
  /// different banks.
  int64_t dsStride() const { return keyTile + 8; }
  /// The configuration of these parameters, or nullopt when the kernel
  /// does not cover them (element type, head dims, query block, key tile,
  /// shared memory, window >= 0, scale > 0).
  static std::optional<AttentionKernelConfig>
  create(Type elem, int64_t d, int64_t dv, int64_t blockQ, int64_t heads,
         int64_t keyTile, int64_t window, double scale, Gate gate,
         bool backward = false);
  std::string symbolName() const;
};

/// A gpu.launch computing block attention, at `b`'s insertion point.
/// `operands`: q, key, value, u, kth_score, kth_index, tau, union_keys,
/// union_count, out, memrefs of any strided layouts (unit innermost stride
/// required for q, key, value and out at run time), then with `cfg.lse` the
/// log-sum-exp [B, Hq, N] (f32) it writes (-inf where a row attends to
/// nothing). Grid: max(1, NB * Hq * B) blocks, NB = ceil(N / blockQ);
/// threads(). The shared tiles are private workgroup memref.globals of
/// `module`.
///
/// With `cfg.backward`, the gradients of block attention (docs/Semantics.md
/// section 9) except the threshold term of du: `operands` continue with
/// dout, then the results dq (written: [B, Hq, N, D] of the input type),
/// dkey, dvalue [B, Hkv, M, D or Dv], du [B, Hkv, M] and dtau [B, Hkv, N],
/// all f32, which the kernel adds to with atomics (the caller zeroes them).
/// Every tile is S = Q K^T and dP = dO V^T again after a first sweep that
/// finds each row's log-sum-exp (with `cfg.lse`, read from the last
/// operand instead, the forward's); dQ += dS K stays in registers, dK += dS^T Q
/// and dV += P^T dO go through shared memory (Q, dO, dS and P tiles, in
/// dynamic shared memory) and global atomics. With `cfg.deterministic`
/// the results after dq are the scratch, meta, dtau per query head and
/// chunk_blocks (blockAttentionStubOperandTypes), the grid has
/// ceil(NB / chunk_blocks) * (Hq / heads) * B blocks, each walking its
/// chunk's query blocks in order, and no floating-point atomics.
void buildBlockAttentionLaunch(ImplicitLocOpBuilder &b, ModuleOp module,
                               const AttentionKernelConfig &cfg,
                               ArrayRef<Value> operands);

/// The launches of du's threshold term (ThresholdTermKernel.cpp), causal
/// with window `window`: `operands` are u [B, Hkv, M], tau and dtau
/// [B, Hkv, N] (f32), du [B, Hkv, M] (f32, added to), and scratch: an i32
/// histogram [B, Hkv, N + 1] the caller zeroes, i32 bounds [B, Hkv, M, 2]
/// and f32 prefix sums [B, Hkv, N + 1].
void buildThresholdTermLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                                int64_t window, ArrayRef<Value> operands);
SmallVector<Type> thresholdTermStubOperandTypes(MLIRContext *ctx);
func::FuncOp getOrCreateThresholdTermStub(ModuleOp module, int64_t window);
/// The window of a threshold-term stub, nullopt for any other function.
std::optional<int64_t> thresholdTermStubWindow(func::FuncOp f);

/// The deterministic backward (AttentionKernelConfig::deterministic).
/// Thread blocks it aims at: query blocks per chunk are
/// max(1, ceil(units / kDeterministicBlocks)), units = NB * (Hq / heads) * B.
inline constexpr int64_t kDeterministicBlocks = 512;
/// Query blocks per chunk for `units` (index values, at `b`).
Value deterministicChunkBlocks(ImplicitLocOpBuilder &b, Value units);
/// Columns of a scratch slot: dkey's D, dvalue's Dv, du, and padding to
/// a multiple of 4 (16-byte rows).
inline int64_t deterministicSlotWidth(int64_t d, int64_t dv) {
  return d + dv + 4;
}
/// Slot numbering (stub kind "deterministic_slots"): `operands` are
/// union_keys [B, Hkv, NB, U], union_count [B, Hkv, NB], tau [B, Hkv, N]
/// (for N), first and last [B, Hkv, M] (i32 scratch, the caller fills
/// them with INT32_MAX and -1), meta [B, Hkv, M, 4] (i32, written), then
/// the index values chunk_blocks and row_entries. Key j of row r is
/// touched by the query blocks [first_j, last_j] (window runs and
/// unions, as the backward kernel walks them: integer atomics), so by the
/// chunks [cf_j, cl_j]; meta_j = (r * row_entries + its run's start, cf_j,
/// its run's length cl_j - cf_j + 1 or 0, first_j), the runs numbered by
/// an exclusive prefix sum over the row's keys.
void buildDeterministicSlotsLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                                     int64_t blockQ, int64_t window,
                                     ArrayRef<Value> operands);
SmallVector<Type> deterministicSlotsStubOperandTypes(MLIRContext *ctx);
func::FuncOp getOrCreateDeterministicSlotsStub(ModuleOp module,
                                               int64_t blockQ, int64_t window);
/// (block_q, window) of a deterministic_slots stub.
std::optional<std::pair<int64_t, int64_t>>
deterministicSlotsStubParams(func::FuncOp f);
/// The fixed-order sums (stub kind "deterministic_reduce"): `operands`
/// are the scratch [S, W] (f32), meta, dtau per query head [B, Hq, N]
/// (f32), the results dkey, dvalue (elem), du [B, Hkv, M] (f32, written)
/// and dtau [B, Hkv, N] (f32, written), then the index head_blocks
/// (Hq / Hkv / heads). Slot (start + e) * head_blocks + h of key j holds
/// chunk cf_j + e's partial sums of head block h.
void buildDeterministicReduceLaunches(ImplicitLocOpBuilder &b, Type elem,
                                      ArrayRef<Value> operands);
SmallVector<Type> deterministicReduceStubOperandTypes(MLIRContext *ctx,
                                                      Type elem);
func::FuncOp getOrCreateDeterministicReduceStub(ModuleOp module, Type elem);
std::optional<Type> deterministicReduceStubElem(func::FuncOp f);

/// The backward's narrowing of dkey and dvalue (ThresholdTermKernel.cpp):
/// operands f32 [d0, d1, d2, d3] and the same shape in `elem` (f16 or
/// bf16), whole row-major allocations (rows of 8k elements take 16-byte
/// vector accesses).
void buildNarrowLaunch(ImplicitLocOpBuilder &b, Type elem,
                       ArrayRef<Value> operands);
SmallVector<Type> narrowStubOperandTypes(MLIRContext *ctx, Type elem);
func::FuncOp getOrCreateNarrowStub(ModuleOp module, Type elem);
/// The element type of a narrow stub, nullopt for any other function.
std::optional<Type> narrowStubElem(func::FuncOp f);

/// The parallel selection's merge rounds of tree levels
/// 1..kMergeTileLevels, tile by tile in shared memory (MergeTileKernel.cpp;
/// detail::SelectionKernels::mergeTiles). `sums`: W1 (f64 fractional sums,
/// integer order) instead of W2 (f32 sort keys).
SmallVector<Type> mergeTilesStubOperandTypes(MLIRContext *ctx, bool sums);
func::FuncOp getOrCreateMergeTilesStub(ModuleOp module, bool sums);
/// A merge_tiles stub's `sums`, nullopt for any other function.
std::optional<bool> mergeTilesStubSums(func::FuncOp f);
void buildMergeTilesLaunch(ImplicitLocOpBuilder &b, ModuleOp module, bool sums,
                           ArrayRef<Value> operands);

/// block_select's unions and counts by per-block compaction
/// (UnionBlocksKernel.cpp; detail::SelectionKernels::unionBlocks).
struct UnionBlocksParams {
  int64_t k = 0, window = 0, blockQ = 1;
};
SmallVector<Type> unionBlocksStubOperandTypes(MLIRContext *ctx);
func::FuncOp getOrCreateUnionBlocksStub(ModuleOp module,
                                        const UnionBlocksParams &p);
/// A union_blocks stub's parameters (k >= 0, window >= 0, block_q >= 1),
/// nullopt for any other function.
std::optional<UnionBlocksParams> unionBlocksStubParams(func::FuncOp f);
void buildUnionBlocksLaunch(ImplicitLocOpBuilder &b, ModuleOp module,
                            const UnionBlocksParams &p,
                            ArrayRef<Value> operands);

/// Kernel stubs: until buffers are allocated and freed, a launch is a call
/// of a private, bodiless func.func whose `sparsek.kernel` attribute holds
/// the configuration (one stub per configuration, operands with fully
/// dynamic shapes and strided layouts). The deallocation passes see a call;
/// sparsek-expand-kernel-stubs turns it into the gpu.launch afterwards.
/// With `deterministic` (backward only) the backward's results after dq
/// are the scratch [S, W] (f32), meta [B, Hkv, M, 4] (i32), dtau per
/// query head [B, Hq, N] (f32) and the index chunk_blocks.
SmallVector<Type> blockAttentionStubOperandTypes(MLIRContext *ctx, Type elem,
                                                 bool backward = false,
                                                 bool lse = false,
                                                 bool deterministic = false);
func::FuncOp getOrCreateBlockAttentionStub(ModuleOp module,
                                           const AttentionKernelConfig &cfg);
bool isKernelStub(func::FuncOp f);
/// The stub `name` of `module`, or a new private bodiless one with
/// `operands` whose `sparsek.kernel` dictionary holds `kind` and what
/// `attrs` appends.
func::FuncOp
getOrCreateStub(ModuleOp module, StringRef name, TypeRange operands,
                StringRef kind,
                function_ref<void(OpBuilder &, NamedAttrList &)> attrs);
/// The `sparsek.kernel` dictionary of a stub whose kind is one of `kinds`,
/// or null.
DictionaryAttr stubAttrsOfKind(func::FuncOp f, ArrayRef<StringRef> kinds);
/// The attribute that marks a kernel stub and holds its configuration.
inline constexpr llvm::StringLiteral kKernelStubAttr = "sparsek.kernel";
/// A memref type of `rank` with fully dynamic sizes and strided layout (the
/// stubs' operand types).
MemRefType dynStridedMemRef(MLIRContext *ctx, int64_t rank, Type elem);

/// sparsek.decode_step's kernels (DecodeKernel.cpp): f16 or bf16, D = Dv
/// of 64 or 128; k, window, scale and gate as the op's.
struct DecodeKernelConfig {
  /// Slots per tile of the attention kernel: a split covers whole tiles.
  static constexpr int64_t kTileSlots = 64;
  Type elem;
  int64_t d, k, window;
  double scale;
  Gate gate;
  /// The fused kernel's schedule (one split per row; DecodeTuning in
  /// Tuning.h): window tiles each of warps 1..3 computes while warp 0
  /// updates the row; tiles each warp has in flight when the update
  /// starts (1 or 2: both stages); whether the kernel advances the
  /// lengths itself (its sequence's last block) instead of a launch of
  /// their own. And for both attention kernels (fused and split): the
  /// blocks each SM must hold at once (nvvm.minctasm, so ptxas bounds
  /// their registers; 0: no bound).
  static constexpr int64_t kDefaultPhase1Tiles = 3, kDefaultPreIssue = 1;
  int64_t phase1Tiles = kDefaultPhase1Tiles, preIssue = kDefaultPreIssue;
  bool fusedLengths = false;
  int64_t minBlocks = 0;
  bool defaultSchedule() const {
    return phase1Tiles == kDefaultPhase1Tiles &&
           preIssue == kDefaultPreIssue && !fusedLengths && minBlocks == 0;
  }
  static std::optional<DecodeKernelConfig> create(Type elem, int64_t d,
                                                  int64_t dv, int64_t k,
                                                  int64_t window, double scale,
                                                  Gate gate);
  /// The schedule set (false, config unchanged, when out of range:
  /// phase1Tiles in [0, 64], preIssue in [1, 2], minBlocks in [0, 8]).
  bool setSchedule(int64_t phase1, int64_t pre, bool lengths,
                   int64_t minBlocks = 0);
};
/// q, key, value, u, out, the nine state tensors, and the partials
/// [B, Hq, splits, Dv + 2] (f32 scratch).
SmallVector<Type> decodeStepStubOperandTypes(MLIRContext *ctx, Type elem);
func::FuncOp getOrCreateDecodeStepStub(ModuleOp module,
                                       const DecodeKernelConfig &cfg);
std::optional<DecodeKernelConfig> decodeStepStubConfig(func::FuncOp f);
/// The update, split attention and combine launches of one step.
void buildDecodeStepLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                             const DecodeKernelConfig &cfg,
                             ArrayRef<Value> operands);
std::optional<AttentionKernelConfig> stubConfig(func::FuncOp f);

} // namespace mlir::sparsek::gpu_kernels

#endif // SPARSEK_LIB_CONVERSION_SPARSEKTOGPU_ATTENTIONKERNEL_H
