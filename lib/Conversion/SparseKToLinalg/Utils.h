//===- Utils.h - shared helpers of the sparsek lowering ---------*- C++ -*-===//
//
// Builders shared by the op-family files of convert-sparsek-to-linalg, and
// the entry points of each family (so that sparsek.attention can reuse the
// stage lowerings with a query length taken from `q`).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_LIB_CONVERSION_SPARSEKTOLINALG_UTILS_H
#define SPARSEK_LIB_CONVERSION_SPARSEKTOLINALG_UTILS_H

#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <functional>

namespace mlir::sparsek::detail {

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

Value constIndex(ImplicitLocOpBuilder &b, int64_t v);
Value constI32(ImplicitLocOpBuilder &b, int32_t v);
Value constF32(ImplicitLocOpBuilder &b, double v);
Value constF64(ImplicitLocOpBuilder &b, double v);
/// Size of dim `d` of a ranked tensor, as an index value.
Value dimValue(ImplicitLocOpBuilder &b, Value tensor, int64_t d);
/// block_select's `queries` operand (a dynamic N) clamped to [0, M]: a
/// value out of range (which the verifier rejects when it is a constant)
/// selects for the nearest valid query count instead of reading out of
/// bounds.
Value clampedQueries(ImplicitLocOpBuilder &b, BlockSelectOp op);
/// Extends f16/bf16 (or truncates f64) to `to`; identity when equal.
Value castFloat(ImplicitLocOpBuilder &b, Value v, Type to);
/// clip(u - tau, 0, 1) in f32 with the conventions that keep it defined for
/// infinite scores (Semantics 2): 1 while tau = -inf (every candidate fully
/// selected, a -inf score too) and for u = +inf.
Value softWeight(ImplicitLocOpBuilder &b, Value u, Value tau);
/// Entry `entryIdx` of a selection row (`indices`, i32) for a query whose
/// window is [lo, end): `valid` when the index is in [0, m) and outside
/// the window (Semantics 5), `j` the index where valid and `zero` (a safe
/// row) where not, `weight` softWeight(u[uRow..., j], t).
struct SelectedKey {
  Value j, weight, valid;
};
SelectedKey selectedKey(ImplicitLocOpBuilder &b, Value indices,
                        ValueRange entryIdx, Value u, ValueRange uRow, Value t,
                        Value lo, Value end, Value m, Value zero);
/// The gated logit of one key (Semantics 5): scale * qk, times `wgt` for
/// the kv gate, plus log(wgt) for the logit gate; -inf when not `valid`.
Value gatedLogit(ImplicitLocOpBuilder &b, Gate gate, Value scale, Value qk,
                 Value wgt, Value valid);
/// min/max/clamp on index values.
Value minIndex(ImplicitLocOpBuilder &b, Value x, Value y);
Value maxIndex(ImplicitLocOpBuilder &b, Value x, Value y);
Value clampIndex(ImplicitLocOpBuilder &b, Value x, Value lo, Value hi);
/// Query i's window rows [lo, end) (Semantics 3): end = p + 1 for
/// p = i + M - N, lo = max(end - window, 0) (= end without a window).
std::pair<Value, Value> windowOf(ImplicitLocOpBuilder &b, Value i, Value m,
                                 Value n, int64_t window);

/// A tensor.empty of `shape` whose dynamic sizes are taken from `sizes`
/// (one index Value per dim).
Value emptyTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                  ValueRange sizes, Type elem);

/// A scratch tensor that is written and read back (heaps, rows, running
/// sums): bufferization.alloc_tensor, which, unlike tensor.empty, CSE never
/// merges, so two scratch buffers never share memory.
Value scratchTensor(ImplicitLocOpBuilder &b, ArrayRef<int64_t> shape,
                    ValueRange sizes, Type elem);

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

using BodyFn = function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)>;

/// scf.if yielding the values each branch returns (types of `thenFn`'s).
SmallVector<Value> ifElse(ImplicitLocOpBuilder &b, Value cond,
                          TypeRange types, BodyFn thenFn, BodyFn elseFn);

/// scf.for over [lb, ub) with iteration values `inits`; the body returns the
/// next iteration values.
SmallVector<Value>
forLoop(ImplicitLocOpBuilder &b, Value lb, Value ub, ValueRange inits,
        function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                        ValueRange)>
            body);

/// A slice of a forall's shared output: the tensor to insert and where.
struct ForallSlice {
  Value source;
  SmallVector<OpFoldResult> offsets, sizes;
};

/// scf.forall over [0, ubs) with the shared output `init`; every iteration
/// inserts the slice its body returns (tensor.parallel_insert_slice).
Value forallInsert(ImplicitLocOpBuilder &b, ValueRange ubs, Value init,
                   function_ref<ForallSlice(ImplicitLocOpBuilder &,
                                            ValueRange)>
                       body);

/// scf.forall over [0, ubs) with several shared outputs `inits`; the body
/// returns one slice per output.
SmallVector<Value>
forallInsertMulti(ImplicitLocOpBuilder &b, ValueRange ubs, ValueRange inits,
                  function_ref<SmallVector<ForallSlice>(ImplicitLocOpBuilder &,
                                                        ValueRange)>
                      body);

/// scf.forall over [0, ubs) whose body also sees the shared outputs (their
/// block arguments), to take a slice, rewrite it in place and insert it
/// back: no allocation per iteration.
SmallVector<Value>
forallUpdate(ImplicitLocOpBuilder &b, ValueRange ubs, ValueRange inits,
             function_ref<SmallVector<ForallSlice>(
                 ImplicitLocOpBuilder &, ValueRange, ValueRange)>
                 body);

/// The 1-D slice of `t` at `offsets` with `sizes` (all but one of them 1),
/// rank-reduced.
Value extractRow(ImplicitLocOpBuilder &b, Value t,
                 ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes);

//===----------------------------------------------------------------------===//
// Min-heaps on tensors (Heap.cpp)
//===----------------------------------------------------------------------===//

/// A binary min-heap of (key: f32, tag: i32) pairs held in two 1-D tensors,
/// ordered lexicographically by (key, tag). Operations return the updated
/// heap (value semantics); bufferization makes them in place. The storage
/// may also be two 1-D memrefs (a kernel's, after bufferization): then the
/// operations update them in place and return them. The threshold sweep
/// below works on either.
struct Heap {
  Value keys, tags, size;
};

Heap heapCreate(ImplicitLocOpBuilder &b, Value capacity);
/// Appends (key, tag); capacity must allow it.
Heap heapPush(ImplicitLocOpBuilder &b, Heap h, Value key, Value tag);
/// Removes the minimum; size must be >= 1.
Heap heapPop(ImplicitLocOpBuilder &b, Heap h);
/// Replaces the minimum by (key, tag); size must be >= 1.
Heap heapReplaceTop(ImplicitLocOpBuilder &b, Heap h, Value key, Value tag);
/// The minimum (key, tag); size must be >= 1.
std::pair<Value, Value> heapTop(ImplicitLocOpBuilder &b, Heap h);
/// (k1, t1) < (k2, t2) lexicographically.
Value pairLess(ImplicitLocOpBuilder &b, Value k1, Value t1, Value k2,
               Value t2);

//===----------------------------------------------------------------------===//
// The threshold sweep (Selection.cpp): live candidates in two heaps
//===----------------------------------------------------------------------===//

/// The threshold sweep's state (Selection.cpp's header explains it): the
/// live candidates (score above the current threshold t) in two min-heaps,
/// `cap` (score >= t + 1) and `mid` (t < score < t + 1), the anchor
/// A = floor(t) and the fractional keys' sum D = sum (u - A), in f64.
struct Sweep {
  Heap cap, mid;
  Value fracSum, anchor;

  SmallVector<Value> pack() const {
    return {cap.keys, cap.tags, cap.size, mid.keys,
            mid.tags, mid.size, fracSum,  anchor};
  }
  static constexpr unsigned kSize = 8;
  static Sweep unpack(ValueRange v) {
    return {{v[0], v[1], v[2]}, {v[3], v[4], v[5]}, v[6], v[7]};
  }
  SmallVector<Type> types() const {
    return llvm::to_vector(ValueRange(pack()).getTypes());
  }
};

/// Inserts a candidate (score v32, f32; tag i32) for the current threshold
/// `tau` (f64): into a heap when it scores above it, else nowhere.
Sweep sweepInsert(ImplicitLocOpBuilder &b, Sweep s, Value tau, Value v32,
                  Value tag);
/// Raises t from `tau` to the smallest solution of f(t) = k (or leaves it
/// when f(tau) <= k); returns the sweep there and t.
std::pair<Sweep, Value> sweepSolve(ImplicitLocOpBuilder &b, Sweep s,
                                   Value tau, int64_t k);
/// Drops the lowest live score (a bounded band's overflow).
Sweep sweepDropLowest(ImplicitLocOpBuilder &b, Sweep s);

//===----------------------------------------------------------------------===//
// Stage lowerings shared with sparsek.attention
//===----------------------------------------------------------------------===//

/// Causal thresholds (SPEC 3) of u : [B, H, M] for `n` queries; returns
/// tensor `resultType` ([B, H, N] f32).
Value buildThresholds(ImplicitLocOpBuilder &b, Value u, int64_t k,
                      int64_t window, Value n, RankedTensorType resultType);

/// Causal top-k (SPEC 4); returns `resultType` ([B, H, N, k] i32).
Value buildTopK(ImplicitLocOpBuilder &b, Value u, int64_t k, int64_t window,
                Value n, RankedTensorType resultType);

/// block_select (internal): kth_score, kth_index, tau, union_keys,
/// union_count for `n` queries, of `resultTypes`.
SmallVector<Value> buildBlockSelect(ImplicitLocOpBuilder &b, Value u,
                                    int64_t k, int64_t window,
                                    int64_t blockSize, Value n,
                                    TypeRange resultTypes);

/// The causal selection of `n` queries (static size `nStatic`): thresholds
/// [B, H, N] and top-k indices [B, H, N, k]; by the sequential sweeps or,
/// with `parallel`, by ParallelSelection.cpp.
std::pair<Value, Value> buildSelection(ImplicitLocOpBuilder &b, Value u,
                                       int64_t k, int64_t window, Value n,
                                       int64_t nStatic, bool parallel);

/// The merge-sort trees of the parallel selection (ParallelSelection.cpp)
/// have arity 2^kSelectionArityLog2.
constexpr int64_t kSelectionArityLog2 = 2;
/// Their levels 1..kMergeTileLevels, whose nodes lie within tiles of
/// 2^kMergeTileLog2 positions (aligned), can be built tile by tile.
constexpr int64_t kMergeTileLog2 = 10;
constexpr int64_t kMergeTileLevels = kMergeTileLog2 / kSelectionArityLog2;
static_assert(kMergeTileLevels * kSelectionArityLog2 == kMergeTileLog2,
              "a merge tile holds whole nodes of its top level");

/// Kernels a target gives the parallel selection for some of its steps; a
/// null member: that step as foralls (the CPU's, and the reference).
struct SelectionKernels {
  /// The merge rounds of a tree's levels 1..kMergeTileLevels, tile by
  /// tile: from level 0's tags [B, H, M] (i32) and their values (f32 sort
  /// keys, or with `sums` f64 fractional parts), into `inits` = (the tags
  /// of level kMergeTileLevels, their values (sums: inclusive sums within
  /// the node), zb, and with `sums` fz; zb and fz are [R, B, H, M, arity -
  /// 1] with R >= kMergeTileLevels, level s at index s - 1). Returns the
  /// inits updated (the same types).
  std::function<SmallVector<Value>(ImplicitLocOpBuilder &, bool sums,
                                   Value tags, Value values, ValueRange inits)>
      mergeTiles;
  /// block_select's union entries and counts, block by block: from every
  /// query's kth rank [B, H, N] (i32, -1 below k candidates), the keys'
  /// ranks [B, H, M] (i32), and `unionKeys` [B, H, NB, k + blockSize - 1]
  /// (i32) whose sample blocks (every unionSampleStride(k, blockSize)-th,
  /// from block 0) hold their first query's selection in entries [0,
  /// min(k, c)), c its candidate count. Into `inits` = (unionKeys,
  /// union_count [B, H, NB] i32): every other entry and every count, as
  /// buildParallelBlockSelect defines them. A later block's first
  /// selection is its sample's filtered by its own kth rank plus the keys
  /// that arrived in between (kth never decreases along the row), so only
  /// the samples walk the tree. Returns the inits updated.
  std::function<SmallVector<Value>(ImplicitLocOpBuilder &, int64_t k,
                                   int64_t window, int64_t blockSize,
                                   Value kthRank, Value rank, ValueRange inits)>
      unionBlocks;
};

/// The blocks between two sample blocks of SelectionKernels::unionBlocks,
/// plus one: about 2k / blockSize (a later block filters its sample's k
/// keys and the (stride - 1) * blockSize keys that arrived since).
inline int64_t unionSampleStride(int64_t k, int64_t blockSize) {
  return std::clamp<int64_t>(2 * k / std::max<int64_t>(blockSize, 1), 1, 32);
}

/// sparsek.threshold, sparsek.topk or sparsek.block_select `op` lowered by
/// the sequential sweeps or, with `parallel`, in parallel along the row
/// (with a target's `kernels`, may be null): N from the result type, or
/// block_select's `queries` when dynamic; nullopt when neither gives it.
std::optional<SmallVector<Value>>
buildSelectionOp(ImplicitLocOpBuilder &b, Operation *op, bool parallel,
                 const SelectionKernels *kernels);

/// The same results as buildThresholds, buildTopK, buildSelection and
/// buildBlockSelect, computed in parallel along the row (ParallelSelection.cpp).
Value buildParallelThresholds(ImplicitLocOpBuilder &b, Value u, int64_t k,
                              int64_t window, Value n,
                              RankedTensorType resultType);
Value buildParallelTopK(ImplicitLocOpBuilder &b, Value u, int64_t k,
                        int64_t window, Value n, RankedTensorType resultType);
/// buildParallelThresholds and buildParallelTopK with a target's `kernels`.
Value buildParallelThresholdsWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                                  int64_t window, Value n,
                                  RankedTensorType resultType,
                                  const SelectionKernels *kernels);
Value buildParallelTopKWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                            int64_t window, Value n,
                            RankedTensorType resultType,
                            const SelectionKernels *kernels);
std::pair<Value, Value>
buildParallelSelection(ImplicitLocOpBuilder &b, Value u, int64_t k,
                       int64_t window, Value n, RankedTensorType tauType,
                       RankedTensorType idxType);
SmallVector<Value> buildParallelBlockSelect(ImplicitLocOpBuilder &b, Value u,
                                            int64_t k, int64_t window,
                                            int64_t blockSize, Value n,
                                            TypeRange resultTypes);
/// The same with a target's `kernels` for some steps.
SmallVector<Value>
buildParallelBlockSelectWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                         int64_t window, int64_t blockSize, Value n,
                         TypeRange resultTypes,
                         const SelectionKernels *kernels);

/// The softmax scale as an f32 value: `scale` when known at compile time,
/// else 1/sqrt(D) from the run-time head dim of q.
Value softmaxScale(ImplicitLocOpBuilder &b, std::optional<double> scale,
                   Value q);

/// sum_c x[xIdx..., c] * y[yIdx..., c] over c in [0, len), in f32.
Value dotProduct(ImplicitLocOpBuilder &b, Value x, ValueRange xIdx, Value y,
                 ValueRange yIdx, Value len);

/// Gathered attention (SPEC 5); `scale` is an f32 value. With `lse`, also
/// every query's log-sum-exp ([B, Hq, N] f32, -inf when it attends to
/// nothing) into *lse.
Value buildGatheredAttention(ImplicitLocOpBuilder &b, Value q, Value key,
                             Value value, Value u, Value indices, Value tau,
                             int64_t window, Value scale, Gate gate,
                             RankedTensorType resultType,
                             Value *lse = nullptr);

/// Block attention (the fused path's attention, BlockAttentionOp's
/// semantics); `scale` is an f32 value; `lse` as for gathered attention.
Value buildBlockAttention(ImplicitLocOpBuilder &b, Value q, Value key,
                          Value value, Value u, Value kthScore,
                          Value kthIndex, Value tau, Value unionKeys,
                          Value unionCount, int64_t window, int64_t blockSize,
                          Value scale, Gate gate, RankedTensorType resultType,
                          Value *lse = nullptr);

/// The attention of a decode step (DecodeStepOp's semantics) over the
/// updated state's slots: `q` [B, Hq, 1, D]; slot j < k is a selected key
/// (soft weight against threshold[b, h, 0]), the others window keys (weight
/// 1); a slot with position -1 is empty. `scale` is an f32 value.
Value buildDecodeAttention(ImplicitLocOpBuilder &b, Value q, Value keys,
                           Value values, Value scores, Value positions,
                           Value threshold, int64_t k, Value scale, Gate gate,
                           RankedTensorType resultType);

/// Number of causal candidates of query i of n over m keys:
/// clamp(i + m - n - window + 1, 0, m).
Value candidateCount(ImplicitLocOpBuilder &b, Value i, Value m, Value n,
                     int64_t window);
/// The first query of n over m keys whose candidates include key j:
/// max(0, j - m + n + window) (candidateCount's inverse).
Value arrivalQuery(ImplicitLocOpBuilder &b, Value j, Value m, Value n,
                   int64_t window);

/// `parallelSelection`: thresholds and top-k by ParallelSelection.cpp
/// instead of the sequential sweeps.
void populateBackwardPatterns(RewritePatternSet &patterns,
                              bool parallelSelection);
void populateScorePatterns(RewritePatternSet &patterns);
void populateDecodePatterns(RewritePatternSet &patterns);
void populateMaskPatterns(RewritePatternSet &patterns);
void populateSelectionPatterns(RewritePatternSet &patterns,
                               bool parallelSelection);
/// `fusedBlockSize` > 0: a causal sparsek.attention lowers to block
/// selection + block attention with query blocks of that size.
void populateAttentionPatterns(RewritePatternSet &patterns,
                               bool parallelSelection, int64_t fusedBlockSize);

} // namespace mlir::sparsek::detail

#endif // SPARSEK_LIB_CONVERSION_SPARSEKTOLINALG_UTILS_H
