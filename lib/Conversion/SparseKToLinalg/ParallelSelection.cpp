//===- ParallelSelection.cpp - selection in parallel along the row -*- C++ -*-===//
//
// threshold, topk and block_select without a sequential sweep over the row
// (SPEC 7: on a GPU, selection runs in parallel along the row). Every loop
// below is an scf.forall over keys or queries (one GPU thread each); what a
// thread loops over is tree levels and binary-search halvings, and the host
// loops over levels.
//
// Per (batch, head) row of M scores, two merge-sort trees of arity 4 and L4
// levels (L = bits of M rounded up to even, L4 = L / 2, so that 4^L4 > M).
// Node x of level s covers the values [x 4^s, (x + 1) 4^s) of a
// permutation of [0, M) and lists them by their position in the row;
// level s comes from level s - 1 by one merge round, a forall in which
// every entry binary-searches its three siblings. Per level and position
// the tree keeps zb, the counts of the node's children 0..d-1
// up to that position (d = 1..3), so that a range of a node splits into its
// children's ranges in O(1) as in a wavelet matrix, with no prefix scan
// across the row.
//
// 1. W2 (values = keys, listed in rank order) is the merge sort of the keys
//    by (score, index), NaN as -inf, the scores travelling with the keys:
//    its top level is `order[r]` (the key of rank r, ascending), whose
//    inverse is `rank[j]`; `sorted[r]` the score of rank r (f64).
//    O(M log^2 M) work, L4 launches.
// 2. W1 (values = ranks, listed in key order) merges runs of ranks by key,
//    and keeps fz, the sums of the fractional parts r(z) = z - floor(z) of
//    children 0..d-1's entries (Semantics 2: f is never formed from sums of
//    scores). O(M log^2 M) work, L4 launches.
// 3. Per query i with prefix [0, c_i), each O(L) per primitive:
//    - W1 "ranks below R within [0, c)": count and fractional sum;
//    - W1 quantile: the k-th best candidate (kth), the p-th best (topk);
//    - tau as the reference computes it (PrefixThreshold): the first
//      breakpoint (a score z or z - 1) where f(t) <= k by two binary
//      searches over the sorted scores, advanced together; each probe reads
//      the rank bounds of f at its breakpoint (capped, fractional, and the
//      split at floor(t) + 1: they depend on t only, so one forall over
//      ranks precomputes them, with the neighbours and piece bounds the
//      final solve needs) and takes the prefix's counts and sums below all
//      six bounds in one walk down W1; then f is linear up to the previous
//      breakpoint and is solved there, from one more walk. O(L^2) per
//      query, a chain of dependent loads. Both first breakpoints only move
//      up along the row (f grows with the prefix), so every 16th query (a
//      sample) searches the band around its k-th best score (kthBracket)
//      and the others only between their two samples' answers: a few
//      halvings each instead of L + 1. The samples' searches (every 32nd
//      query) run in rounds of 16 parallel probes (one thread each; a round
//      cuts a range to 1/17), so their depth is a few walks, not a chain
//      of ~19.
//    - W2 quantile over ranks >= the kth's rank: a block's first query's
//      selection in ascending key order (block_select's union), then its
//      later queries' newcomers, each selected when its rank is at least
//      the kth rank of the query it arrives with.
//
// A target may build some steps with kernels of its own
// (SelectionKernels): on the GPU, levels 1..kMergeTileLevels of both trees
// come from one shared-memory launch per tree (SparseKToGPU's
// MergeTileKernel.cpp) and the merge rounds start above them; only every
// unionSampleStride-th block's first selection is walked in W2, and one
// launch (UnionBlocksKernel.cpp) derives the other blocks' unions from
// their samples' by compaction, with the counts.
//
// Work per row O(M log^2 M + N log^2 M) (+ O(N k log M) for topk, which
// writes N k indices), depth O(log M) launches. The sequential sweeps of
// Selection.cpp stay the CPU default (O(M log M) on one core); this is the
// GPU pipeline's selection and is checked against the reference on the CPU
// with --parallel-selection.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>
#include <tuple>

namespace mlir::sparsek::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using P = arith::CmpIPredicate;
using FP = arith::CmpFPredicate;

Value ext(ImplicitLocOpBuilder &b, Value t, ValueRange idx) {
  return tensor::ExtractOp::create(b, t, idx);
}
Value idx(ImplicitLocOpBuilder &b, Value i32) {
  return arith::IndexCastOp::create(b, b.getIndexType(), i32);
}
Value i32(ImplicitLocOpBuilder &b, Value index) {
  return arith::IndexCastOp::create(b, b.getI32Type(), index);
}
Value f64(ImplicitLocOpBuilder &b, Value index) {
  return arith::SIToFPOp::create(
      b, b.getF64Type(), arith::IndexCastOp::create(b, b.getI64Type(), index));
}
Value cmpi(ImplicitLocOpBuilder &b, P p, Value x, Value y) {
  return arith::CmpIOp::create(b, p, x, y);
}
Value cmpf(ImplicitLocOpBuilder &b, FP p, Value x, Value y) {
  return arith::CmpFOp::create(b, p, x, y);
}
Value sel(ImplicitLocOpBuilder &b, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, c, x, y);
}
Value add(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::AddIOp::create(b, x, y);
}
Value sub(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::SubIOp::create(b, x, y);
}
Value shl(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::ShLIOp::create(b, x, y);
}
Value shr(ImplicitLocOpBuilder &b, Value x, Value y) {
  return arith::ShRUIOp::create(b, x, y);
}

/// The entries [last, last + vals.size()) along the innermost dim, at
/// `outer` offsets of the other dims, of a forall's shared output `out`
/// (its block argument) set to `vals`: the slice is taken from `out` and
/// written back, so it bufferizes to stores (no allocation per thread).
ForallSlice runSlice(ImplicitLocOpBuilder &b, ArrayRef<Value> vals, Value out,
                     ArrayRef<Value> outer, OpFoldResult last) {
  ForallSlice s;
  for (Value o : outer) {
    s.offsets.push_back(o);
    s.sizes.push_back(b.getIndexAttr(1));
  }
  auto n = static_cast<int64_t>(vals.size());
  s.offsets.push_back(last);
  s.sizes.push_back(b.getIndexAttr(n));
  SmallVector<OpFoldResult> strides(s.offsets.size(), b.getIndexAttr(1));
  auto type = RankedTensorType::get({n}, vals[0].getType());
  Value slot =
      tensor::ExtractSliceOp::create(b, type, out, s.offsets, s.sizes, strides);
  for (auto [i, v] : llvm::enumerate(vals))
    slot = tensor::InsertOp::create(b, v, slot,
                                    ValueRange{constIndex(b, int64_t(i))});
  s.source = slot;
  return s;
}

/// Element `offsets` of a forall's shared output `out` set to `v`.
ForallSlice scalarSlice(ImplicitLocOpBuilder &b, Value v, Value out,
                        ArrayRef<Value> offsets) {
  return runSlice(b, {v}, out, offsets.drop_back(), offsets.back());
}

/// The innermost row [0, vals.size()) at `offsets` of a forall's shared
/// output `out` set to `vals`.
ForallSlice rowSlice(ImplicitLocOpBuilder &b, ArrayRef<Value> vals, Value out,
                     ArrayRef<Value> offsets) {
  return runSlice(b, vals, out, offsets, b.getIndexAttr(0));
}

/// The sort key of a score: NaN sorts (and never counts) as -inf.
Value sortKey(ImplicitLocOpBuilder &b, Value v) {
  Value nan = cmpf(b, FP::UNO, v, v);
  return sel(b, nan, arith::ConstantOp::create(
                         b, FloatAttr::get(v.getType(), -kInf)),
             v);
}

/// (ua, a) < (ub, c) in ascending (score, index) order.
Value keyLess(ImplicitLocOpBuilder &b, Value ua, Value a, Value ub, Value c) {
  return arith::OrIOp::create(
      b, cmpf(b, FP::OLT, ua, ub),
      arith::AndIOp::create(b, cmpf(b, FP::OEQ, ua, ub),
                            cmpi(b, P::slt, a, c)));
}

/// `known ? answer : compute()`, with `compute()` built (its loads issued)
/// only in the branch that needs it.
Value valueUnless(ImplicitLocOpBuilder &b, Value known, Value answer,
                  function_ref<Value()> compute) {
  return ifElse(
      b, known, {answer.getType()},
      [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{answer}; },
      [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{compute()}; })[0];
}

/// The first position in [lo, hi) where `goRight` is false (it must be true
/// then false along the range); `iters` bounds the halvings (bits of the
/// longest range). Probes only inside the range.
Value partitionPoint(
    ImplicitLocOpBuilder &b, Value lo, Value hi, Value iters,
    function_ref<Value(ImplicitLocOpBuilder &, Value)> goRight) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  SmallVector<Value> res = forLoop(
      b, zero, iters, {lo, sub(b, hi, lo)},
      [&](ImplicitLocOpBuilder &lb, Value, ValueRange it) {
        Value l = it[0], len = it[1];
        Value active = cmpi(lb, P::sgt, len, zero);
        Type t = lb.getIndexType();
        return ifElse(
            lb, active, {t, t},
            [&](ImplicitLocOpBuilder &tb) {
              Value half = shr(tb, len, one);
              Value mid = add(tb, l, half);
              Value right = goRight(tb, mid);
              return SmallVector<Value>{
                  sel(tb, right, add(tb, mid, one), l),
                  sel(tb, right, sub(tb, sub(tb, len, half), one), half)};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{l, len};
            });
      });
  return res[0];
}

/// forallUpdate with one shared output.
Value forallUpdate1(
    ImplicitLocOpBuilder &b, ValueRange ubs, Value init,
    function_ref<ForallSlice(ImplicitLocOpBuilder &, ValueRange, Value)> body) {
  return forallUpdate(b, ubs, ValueRange{init},
                      [&](ImplicitLocOpBuilder &fb, ValueRange iv,
                          ValueRange outs) {
                        return SmallVector<ForallSlice>{body(fb, iv, outs[0])};
                      })[0];
}

/// The merge-sort trees' arity (a power of two): more children per node
/// mean fewer levels (walk depth, build launches) and more counts per
/// level and position.
constexpr int64_t kArityLog2 = kSelectionArityLog2;
constexpr int64_t kArity = int64_t(1) << kArityLog2;

/// log2 of the size of a node of level `lvl`.
Value nodeLog2(ImplicitLocOpBuilder &b, Value lvl) {
  return arith::MulIOp::create(b, lvl, constIndex(b, kArityLog2));
}

/// x rounded up to even.
Value roundUpEven(ImplicitLocOpBuilder &b, Value x) {
  return arith::AndIOp::create(b, add(b, x, constIndex(b, 1)),
                               constIndex(b, ~int64_t(1)));
}

/// Row shape: batch, heads, keys, the number of bits L of a position (bits
/// of M rounded up to even, at least 2: 2^L > M) and the levels L4 = L / 2
/// of the arity-4 trees.
struct Rows {
  Value bsz, hsz, m, levels, levels4;
};

Rows rowsOf(ImplicitLocOpBuilder &b, Value u) {
  Rows r{dimValue(b, u, 0), dimValue(b, u, 1), dimValue(b, u, 2), Value(),
         Value()};
  Value m64 = arith::IndexCastOp::create(b, b.getI64Type(), r.m);
  Value lz = math::CountLeadingZerosOp::create(b, m64);
  Value bits = sub(b, constIndex(b, 64),
                   arith::IndexCastOp::create(b, b.getIndexType(), lz));
  // Round up to even, at least 2.
  r.levels = maxIndex(b, roundUpEven(b, bits), constIndex(b, 2));
  // Levels of the trees: the fewest with kArity^L4 > M (2^bits > M), so
  // that a bound of M, as in "ranks below M", still has its digits.
  r.levels4 = maxIndex(
      b, arith::CeilDivUIOp::create(b, bits, constIndex(b, kArityLog2)),
      constIndex(b, 1));
  return r;
}

//===----------------------------------------------------------------------===//
// 1. Merge-sort trees
//===----------------------------------------------------------------------===//

/// A merge-sort tree of arity 4 over a row holding a permutation of
/// [0, M): node x of level s (0 <= s <= L4) covers the values
/// [x 4^s, (x + 1) 4^s) and lists them by position in the row; because the
/// values are a permutation, the node occupies the same positions of level
/// s's array. Level s comes from level s - 1 by one merge round: every
/// entry finds its place in the merged node by binary searches in its three
/// siblings. Per level s >= 1 and position the tree keeps, for d = 1..3,
/// the node's entries from children 0..d-1 up to and including that
/// position (zb), and with fractional sums their sums of r(z) (fz): a
/// node's prefix of p entries splits into its children's prefixes in O(1),
/// as in a wavelet matrix, without any prefix scan across the row. Arity 4
/// halves the levels (walk depth and build launches) of a binary tree.
struct Tree {
  // [L4 rounded up to even, B, H, M, kArity - 1]; level s at index s - 1.
  Value zb;     // i32
  Value fz;     // f64, or null
  Value levels; // L4
  Value m;
  Value bits; // L: halvings of a binary search over the row, less one
};

/// Several binary searches advanced together (their loads overlap): for
/// each j, the first position in [los[j], his[j]) where the j-th predicate
/// is false; `iters` halvings. `goRight(mids)` gives every search's
/// predicate at its probe in one go (so the probes can share work). A
/// finished search probes position 0 (which must be valid) and ignores the
/// answer.
SmallVector<Value> partitionPoints(
    ImplicitLocOpBuilder &b, ArrayRef<Value> los, ArrayRef<Value> his,
    Value iters,
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, ArrayRef<Value>)>
        goRight) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  SmallVector<Value> inits;
  for (size_t j = 0; j < los.size(); ++j)
    inits.append({los[j], sub(b, his[j], los[j])});
  SmallVector<Value> res = forLoop(
      b, zero, iters, inits,
      [&](ImplicitLocOpBuilder &lb, Value, ValueRange a) {
        SmallVector<Value> actives, halves, mids;
        for (size_t j = 0; j < los.size(); ++j) {
          Value len = a[2 * j + 1];
          actives.push_back(cmpi(lb, P::sgt, len, zero));
          halves.push_back(shr(lb, len, one));
          mids.push_back(
              sel(lb, actives[j], add(lb, a[2 * j], halves[j]), zero));
        }
        SmallVector<Value> preds = goRight(lb, mids);
        SmallVector<Value> next;
        for (size_t j = 0; j < los.size(); ++j) {
          Value l = a[2 * j], len = a[2 * j + 1];
          Value active = actives[j], half = halves[j], mid = mids[j];
          Value right = arith::AndIOp::create(lb, active, preds[j]);
          next.push_back(sel(lb, right, add(lb, mid, one), l));
          next.push_back(sel(lb, right, sub(lb, sub(lb, len, half), one),
                             sel(lb, active, half, len)));
        }
        return next;
      });
  SmallVector<Value> out;
  for (size_t j = 0; j < los.size(); ++j)
    out.push_back(res[2 * j]);
  return out;
}

/// Builds the tree of a row whose level-0 entries (positions 0..M-1, one
/// value each) are the i32 tags `leaf`, with f32 sort keys `leafKeys` when
/// given (they travel with the tags, so a probe reads both at once);
/// merge rounds order entries by `less(a, keyA, c, keyC)` (index values of
/// two tags, their keys or null). With `frac`, the fractional sums of
/// frac(bi, hi, tag). Returns the tree and the top level's tags (the whole
/// row ordered by `less`).
std::pair<Tree, Value> buildTree(
    ImplicitLocOpBuilder &b, Value leaf, Value leafKeys, const Rows &r,
    function_ref<Value(ImplicitLocOpBuilder &, Value, Value, Value, Value)>
        less,
    function_ref<Value(ImplicitLocOpBuilder &, Value, Value, Value)> frac,
    const SelectionKernels *kernels) {
  Type i32t = b.getI32Type(), f64t = b.getF64Type();
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<Value> sizes = {r.bsz, r.hsz, r.m};
  Value three = constIndex(b, kArity - 1);
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  // With the target's merge-tile kernel, levels 1..kMergeTileLevels come
  // from it (all of them, also when fewer hold the row: a tile then holds
  // the row, and its top level is sorted like level L4); the merge rounds
  // above them come in pairs (below).
  bool tiled = kernels && kernels->mergeTiles;
  Value first = constIndex(b, tiled ? kMergeTileLevels : 0);
  Value rounds = add(
      b, first, roundUpEven(b, maxIndex(b, sub(b, r.levels4, first), zero)));
  SmallVector<Value> levelSizes = {rounds, r.bsz, r.hsz, r.m, three};
  bool sums = static_cast<bool>(frac);
  bool keyed = static_cast<bool>(leafKeys);
  auto row = [&](Type t) { return scratchTensor(b, {dyn, dyn, dyn}, sizes, t); };
  auto levelsOf = [&](Type t) {
    return scratchTensor(b, {dyn, dyn, dyn, dyn, kArity - 1}, levelSizes, t);
  };

  // Level 0: the tags, and their fractional parts (inclusive sums of
  // one-entry nodes).
  Value incl;
  if (sums)
    incl = forallUpdate1(
        b, {r.m, r.hsz, r.bsz}, row(f64t),
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
          Value q = iv[0], hi = iv[1], bi = iv[2];
          Value t = idx(fb, ext(fb, leaf, {bi, hi, q}));
          return scalarSlice(fb, frac(fb, bi, hi, t), out, {bi, hi, q});
        });

  // Round s: level s - 1 (tags, inclusive sums within nodes) -> level s;
  // zb and fz of level s.
  struct State {
    Value tags, incl, zb, fz, keys;
  };
  auto round = [&](ImplicitLocOpBuilder &rb, Value s, const State &src,
                   Value dstTags, Value dstIncl, Value zb, Value fz,
                   Value dstKeys) {
    SmallVector<Value> inits = {dstTags, zb};
    if (sums)
      inits.append({dstIncl, fz});
    if (keyed)
      inits.push_back(dstKeys);
    SmallVector<Value> res = forallUpdate(
        rb, {r.m, r.hsz, r.bsz}, inits,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value q = iv[0], hi = iv[1], bi = iv[2];
          Value lvl = sub(fb, s, one);
          Value sh = nodeLog2(fb, lvl); // log2 of a child's size
          Value t32 = ext(fb, src.tags, {bi, hi, q});
          Value t = idx(fb, t32);
          Value key = keyed ? ext(fb, src.keys, {bi, hi, q}) : Value();
          Value child = shr(fb, q, sh);
          Value i = sub(fb, q, shl(fb, child, sh));
          Value c = arith::AndIOp::create(fb, child, three);
          Value nodeStart = shl(fb, shr(fb, child, constIndex(fb, kArityLog2)),
                                add(fb, sh, constIndex(fb, kArityLog2)));
          Value childSize = shl(fb, one, sh);
          auto childStart = [&](Value d) {
            return minIndex(fb, add(fb, nodeStart, shl(fb, d, sh)), r.m);
          };
          // The three siblings (c + j) mod 4: entries below t in each.
          SmallVector<Value> sib, los, his;
          for (int64_t j = 1; j < kArity; ++j) {
            Value d = arith::AndIOp::create(fb, add(fb, c, constIndex(fb, j)),
                                            three);
            sib.push_back(d);
            Value lo = childStart(d);
            los.push_back(lo);
            his.push_back(minIndex(fb, add(fb, lo, childSize), r.m));
          }
          // Where every sibling is empty (the top levels of a row that
          // one child holds: at M = 4^s and above), the round is a copy:
          // no halvings.
          Value anySibling = cmpi(fb, P::ult, los[0], his[0]);
          for (int64_t j = 1; j < kArity - 1; ++j)
            anySibling = arith::OrIOp::create(
                fb, anySibling, cmpi(fb, P::ult, los[j], his[j]));
          SmallVector<Value> pos = partitionPoints(
              fb, los, his, sel(fb, anySibling, add(fb, sh, one), zero),
              [&](ImplicitLocOpBuilder &pb, ArrayRef<Value> mids) {
                SmallVector<Value> preds;
                for (Value mid : mids)
                  preds.push_back(less(
                      pb, idx(pb, ext(pb, src.tags, {bi, hi, mid})),
                      keyed ? ext(pb, src.keys, {bi, hi, mid}) : Value(), t,
                      key));
                return preds;
              });
          // n[d]: entries of child d before this one in the merged node.
          SmallVector<Value> n, nStart;
          for (int64_t d = 0; d < kArity; ++d) {
            Value dv = constIndex(fb, d);
            Value v = i;
            for (int j = 0; j < kArity - 1; ++j)
              v = sel(fb, cmpi(fb, P::eq, sib[j], dv), sub(fb, pos[j], los[j]),
                      v);
            n.push_back(v);
            nStart.push_back(childStart(dv));
          }
          Value dest = nodeStart;
          for (Value v : n)
            dest = add(fb, dest, v);
          // Inclusive counts of children 0..d-1 at dest, d = 1..3.
          SmallVector<Value> cum;
          Value acc = zero;
          for (int64_t d = 0; d < kArity - 1; ++d) {
            Value own = cmpi(fb, P::eq, c, constIndex(fb, d));
            acc = add(fb, acc, sel(fb, own, add(fb, n[d], one), n[d]));
            cum.push_back(i32(fb, acc));
          }
          SmallVector<ForallSlice> out = {
              scalarSlice(fb, t32, outs[0], {bi, hi, dest}),
              rowSlice(fb, cum, outs[1], {lvl, bi, hi, dest})};
          if (sums) {
            // Child d's inclusive sum over its entries up to this one (own
            // child) or before it (siblings).
            SmallVector<Value> fcum;
            Value facc = constF64(fb, 0);
            Value own = ext(fb, src.incl, {bi, hi, q});
            for (int64_t d = 0; d < kArity; ++d) {
              Value isOwn = cmpi(fb, P::eq, c, constIndex(fb, d));
              Value none = cmpi(fb, P::eq, n[d], zero);
              Value at = maxIndex(fb, sub(fb, add(fb, nStart[d], n[d]), one),
                                  zero);
              Value sibSum = sel(fb, none, constF64(fb, 0),
                                 ext(fb, src.incl, {bi, hi, at}));
              facc = arith::AddFOp::create(fb, facc,
                                           sel(fb, isOwn, own, sibSum));
              if (d < kArity - 1)
                fcum.push_back(facc);
            }
            out.push_back(scalarSlice(fb, facc, outs[2], {bi, hi, dest}));
            out.push_back(rowSlice(fb, fcum, outs[3], {lvl, bi, hi, dest}));
          }
          if (keyed)
            out.push_back(scalarSlice(fb, key, outs.back(), {bi, hi, dest}));
          return out;
        });
    return State{res[0], sums ? res[2] : Value(), res[1],
                 sums ? res[3] : Value(), keyed ? res.back() : Value()};
  };

  // Rounds in pairs, so that the ping-pong buffers keep their places in the
  // loop's iteration values: with L4 odd, a last round builds a level L4 + 1
  // that no walk reads (one node whose first child holds the row: a copy
  // of level L4). (A round of its own, in an scf.if on L4's parity, would
  // be canonicalized into selects over whole tensors on the host.)
  Value tagsB = row(i32t);
  Value inclB = sums ? row(f64t) : Value();
  Value keysB = keyed ? row(b.getF32Type()) : Value();
  State st{leaf, incl, levelsOf(i32t), sums ? levelsOf(f64t) : Value(),
           leafKeys};
  if (tiled) {
    SmallVector<Value> inits = {row(i32t), sums ? row(f64t) : row(b.getF32Type()),
                                st.zb};
    if (sums)
      inits.push_back(st.fz);
    SmallVector<Value> res =
        kernels->mergeTiles(b, sums, leaf, sums ? incl : leafKeys, inits);
    st = State{res[0], sums ? res[1] : Value(), res[2],
               sums ? res[3] : Value(), keyed ? res[1] : Value()};
  }
  // Iteration values: tags, their other buffer, zb, then (sums) incl, its
  // other buffer, fz, then (keyed) keys and their other buffer.
  auto pack = [&](const State &s, Value tb, Value ib, Value kb) {
    SmallVector<Value> v = {s.tags, tb, s.zb};
    if (sums)
      v.append({s.incl, ib, s.fz});
    if (keyed)
      v.append({s.keys, kb});
    return v;
  };
  int64_t keyAt = sums ? 6 : 3;
  Value two = constIndex(b, 2);
  SmallVector<Value> res = forLoop(
      b, zero, shr(b, sub(b, rounds, first), one),
      pack(st, tagsB, inclB, keysB),
      [&](ImplicitLocOpBuilder &lb, Value pr, ValueRange it) {
        State cur{it[0], sums ? it[3] : Value(), it[2],
                  sums ? it[5] : Value(), keyed ? it[keyAt] : Value()};
        Value s1 =
            add(lb, add(lb, arith::MulIOp::create(lb, pr, two), first), one);
        State mid = round(lb, s1, cur, it[1], sums ? it[4] : Value(), cur.zb,
                          cur.fz, keyed ? it[keyAt + 1] : Value());
        State next = round(lb, add(lb, s1, one), mid, cur.tags, cur.incl,
                           mid.zb, mid.fz, cur.keys);
        return pack(next, mid.tags, mid.incl, mid.keys);
      });
  Tree tree{res[2], sums ? res[5] : Value(), r.levels4, r.m, r.levels};
  return {tree, res[0]};
}

/// Reads of a tree level: the inclusive counts (or sums) of children
/// 0..d-1 at relative position p of the node starting at st, for d = 0..4
/// (0 at d = 0 or p = 0; p itself, or the node prefix's total sum, at
/// d = 4 is the caller's).
struct TreeCursor {
  const Tree &t;
  Value bi, hi;
  /// C_d(p) for d in [0, 3] (dynamic).
  Value countAt(ImplicitLocOpBuilder &b, Value lvl, Value st, Value p,
                Value d) const {
    return at(b, t.zb, lvl, st, p, d, /*isCount=*/true);
  }
  Value sumAt(ImplicitLocOpBuilder &b, Value lvl, Value st, Value p,
              Value d) const {
    return at(b, t.fz, lvl, st, p, d, /*isCount=*/false);
  }

private:
  Value at(ImplicitLocOpBuilder &b, Value arr, Value lvl, Value st, Value p,
           Value d, bool isCount) const {
    Value zero = constIndex(b, 0), one = constIndex(b, 1);
    Value empty = arith::OrIOp::create(b, cmpi(b, P::eq, p, zero),
                                       cmpi(b, P::eq, d, zero));
    Value pos = sel(b, empty, zero, sub(b, add(b, st, p), one));
    Value comp = sel(b, empty, zero, sub(b, d, one));
    Value v = ext(b, arr, {lvl, bi, hi, pos, comp});
    if (isCount)
      return sel(b, empty, zero, idx(b, v));
    return sel(b, empty, constF64(b, 0), v);
  }
};

/// The first walk step: 1 when the top level is a copy (M <= 4^(L4-1): M a
/// power of 4, whose top node has one child holding the row; L4 keeps it
/// so that a bound of M has its digits), else 0. A quantile walk skips that
/// level: a step there leaves the range whole and goes to child 0. (The
/// counting walks keep it: a bound of M needs the prefix's sum from it,
/// and handling that per bound cost more than the level, NOTES run 188.)
Value firstWalkStep(ImplicitLocOpBuilder &b, const Tree &w) {
  Value top = sub(b, w.levels, constIndex(b, 1));
  Value topCopy = cmpi(b, P::ule, w.m, shl(b, constIndex(b, 1), nodeLog2(b, top)));
  return sel(b, topCopy, constIndex(b, 1), constIndex(b, 0));
}

/// The kk-th smallest values (each kk >= 1, at most e - s) among positions
/// [s, e) of the row, one walk for all (their loads overlap).
SmallVector<Value> quantiles(ImplicitLocOpBuilder &b, const Tree &w, Value bi,
                             Value hi, ArrayRef<Value> kks, Value s, Value e) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  TreeCursor cur{w, bi, hi};
  SmallVector<Value> inits;
  for (Value kk : kks)
    inits.append({zero, s, e, kk});
  // The leaf reached is the value itself (node start = value on level 0).
  SmallVector<Value> res = forLoop(
      b, firstWalkStep(b, w), w.levels, inits,
      [&](ImplicitLocOpBuilder &lb, Value l, ValueRange a) {
        Value lvl = sub(lb, sub(lb, w.levels, one), l);
        Value sh = nodeLog2(lb, lvl);
        SmallVector<Value> next;
        for (size_t q = 0; q < kks.size(); ++q) {
          Value st = a[4 * q], ps = a[4 * q + 1], pe = a[4 * q + 2],
                want = a[4 * q + 3];
          // Entries of children 0..d-1 in the range, d = 1..3.
          SmallVector<Value> cs = {zero}, ce = {zero}, within = {zero};
          for (int64_t d = 1; d < kArity; ++d) {
            Value dv = constIndex(lb, d);
            cs.push_back(cur.countAt(lb, lvl, st, ps, dv));
            ce.push_back(cur.countAt(lb, lvl, st, pe, dv));
            within.push_back(sub(lb, ce.back(), cs.back()));
          }
          cs.push_back(ps);
          ce.push_back(pe);
          // The child holding the kk-th entry: the last d with within[d] <
          // kk.
          Value d = zero, below = zero, ns = cs[0], ne = ce[0], ns1 = cs[1],
                ne1 = ce[1];
          for (int64_t j = 1; j < kArity; ++j) {
            Value past = cmpi(lb, P::slt, within[j], want);
            d = sel(lb, past, constIndex(lb, j), d);
            below = sel(lb, past, within[j], below);
            ns = sel(lb, past, cs[j], ns);
            ne = sel(lb, past, ce[j], ne);
            ns1 = sel(lb, past, cs[j + 1], ns1);
            ne1 = sel(lb, past, ce[j + 1], ne1);
          }
          next.append({add(lb, st, shl(lb, d, sh)), sub(lb, ns1, ns),
                       sub(lb, ne1, ne), sub(lb, want, below)});
        }
        return next;
      });
  SmallVector<Value> out;
  for (size_t q = 0; q < kks.size(); ++q)
    out.push_back(res[4 * q]);
  return out;
}

/// The kk-th smallest value (kk >= 1, at most e - s) among positions
/// [s, e) of the row.
Value quantile(ImplicitLocOpBuilder &b, const Tree &w, Value bi, Value hi,
               Value kk, Value s, Value e) {
  return quantiles(b, w, bi, hi, {kk}, s, e)[0];
}

//===----------------------------------------------------------------------===//
// 2. Ranks: the tree over keys (W2) sorts the row
//===----------------------------------------------------------------------===//

/// r(z) = z - floor(z) for finite z, 0 for infinities (f64).
Value fracPart(ImplicitLocOpBuilder &b, Value z) {
  Value finite = cmpf(b, FP::OLT, math::AbsFOp::create(b, z), constF64(b, kInf));
  return sel(b, finite, arith::SubFOp::create(b, z, math::FloorOp::create(b, z)),
             constF64(b, 0));
}

struct Ranks {
  Value order, rank, sorted; // [B, H, M]: i32, i32, f64
  Tree byKey;                // W2: values = keys, row in rank order
};

Ranks buildRanks(ImplicitLocOpBuilder &b, Value u, const Rows &r,
                 const SelectionKernels *kernels) {
  Type i32t = b.getI32Type(), f64t = b.getF64Type();
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<Value> sizes = {r.bsz, r.hsz, r.m};
  auto key = [&](ImplicitLocOpBuilder &kb, Value bi, Value hi, Value j) {
    return sortKey(kb, ext(kb, u, {bi, hi, j}));
  };
  // Level 0: every key with its score (the sort key).
  SmallVector<Value> leaves = forallUpdate(
      b, {r.m, r.hsz, r.bsz},
      {scratchTensor(b, {dyn, dyn, dyn}, sizes, i32t),
       scratchTensor(b, {dyn, dyn, dyn}, sizes, b.getF32Type())},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value j = iv[0], hi = iv[1], bi = iv[2];
        return SmallVector<ForallSlice>{
            scalarSlice(fb, i32(fb, j), outs[0], {bi, hi, j}),
            scalarSlice(fb, key(fb, bi, hi, j), outs[1], {bi, hi, j})};
      });
  Value keys = leaves[0], scores = leaves[1];
  // Nodes of consecutive keys merged in ascending (score, index) order: the
  // top level is `order`, and the tree is W2 (values = keys, listed by rank).
  auto [tree, order] = buildTree(
      b, keys, scores, r,
      [&](ImplicitLocOpBuilder &lb, Value y, Value uy, Value x, Value ux) {
        return keyLess(lb, uy, y, ux, x);
      },
      nullptr, kernels);
  Ranks out;
  out.order = order;
  out.byKey = tree;
  SmallVector<Value> inv = forallUpdate(
      b, {r.m, r.hsz, r.bsz},
      {scratchTensor(b, {dyn, dyn, dyn}, sizes, i32t),
       scratchTensor(b, {dyn, dyn, dyn}, sizes, f64t)},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value p = iv[0], hi = iv[1], bi = iv[2];
        Value j = idx(fb, ext(fb, out.order, {bi, hi, p}));
        Value z = arith::ExtFOp::create(fb, b.getF64Type(), key(fb, bi, hi, j));
        return SmallVector<ForallSlice>{scalarSlice(fb, i32(fb, p), outs[0], {bi, hi, j}),
                                        scalarSlice(fb, z, outs[1], {bi, hi, p})};
      });
  out.rank = inv[0];
  out.sorted = inv[1];
  return out;
}

/// W1: values = ranks, row in key order, with the fractional sums of the
/// scores: built by merging nodes of consecutive ranks in key order.
Tree buildByRank(ImplicitLocOpBuilder &b, Value u, const Ranks &rk,
                 const Rows &r, const SelectionKernels *kernels) {
  return buildTree(
             b, rk.order, Value(), r,
             [&](ImplicitLocOpBuilder &lb, Value y, Value, Value x, Value) {
               return cmpi(lb, P::slt, y, x);
             },
             [&](ImplicitLocOpBuilder &lb, Value bi, Value hi, Value j) {
               Value z = arith::ExtFOp::create(lb, lb.getF64Type(),
                                               sortKey(lb, ext(lb, u, {bi, hi, j})));
               return fracPart(lb, z);
             },
             kernels)
      .first;
}
//===----------------------------------------------------------------------===//
// 3. One query's threshold (the reference's PrefixThreshold, per query)
//===----------------------------------------------------------------------===//

/// The rank bounds of f(t) that depend on t alone, not on the prefix: ranks
/// >= capLo are capped (z - 1 >= t and z > t), ranks in [midLo, capLo)
/// fractional, and of those the ranks >= split have z - floor(t) >= 1.
struct Bounds {
  Value capLo, midLo, split;
};

/// Binary searches over a row's sorted scores.
class SortedSearch {
public:
  SortedSearch(ImplicitLocOpBuilder &b, const Ranks &rk, Value bi, Value hi,
               Value m, Value levels)
      : b(b), rk(rk), bi(bi), hi(hi), m(m), zero(constIndex(b, 0)),
        iters(add(b, levels, constIndex(b, 1))) {}

  Value z(Value r) { return ext(b, rk.sorted, {bi, hi, r}); }
  Value zm1(Value r) { return arith::SubFOp::create(b, z(r), constF64(b, 1)); }
  Value search(Value lo, Value hi_, function_ref<Value(Value)> goRight) {
    return partitionPoint(b, lo, hi_, iters,
                          [&](ImplicitLocOpBuilder &, Value mid) {
                            return goRight(mid);
                          });
  }
  Value lowerZ(Value t) {
    return search(zero, m, [&](Value r) { return cmpf(b, FP::OLT, z(r), t); });
  }
  Value upperZ(Value t) {
    return search(zero, m, [&](Value r) { return cmpf(b, FP::OLE, z(r), t); });
  }
  Value lowerZm1(Value t) {
    return search(zero, m,
                  [&](Value r) { return cmpf(b, FP::OLT, zm1(r), t); });
  }
  /// Bounds with capped ranks >= capLo, fractional [min(midLo, capLo),
  /// capLo), and the split for floor(t) = floorT.
  Bounds boundsOf(Value capLo, Value midLo, Value floorT) {
    midLo = minIndex(b, midLo, capLo);
    Value split = search(midLo, capLo, [&](Value r) {
      Value geq = cmpf(b, FP::OGE, arith::SubFOp::create(b, z(r), floorT),
                       constF64(b, 1));
      return arith::XOrIOp::create(b, geq,
                                   arith::ConstantIntOp::create(b, 1, 1))
          .getResult();
    });
    return {capLo, midLo, split};
  }

private:
  ImplicitLocOpBuilder &b;
  const Ranks &rk;
  Value bi, hi, m, zero, iters;
};

/// Per rank r and family (0: t = z(r), 1: t = z(r) - 1), everything about
/// the breakpoint t that does not depend on the prefix, so that a query's
/// searches and its final solve are walks down W1 and loads: the Bounds of
/// f(t) (capLo, midLo, split), the first ranks with z >= t (atOrAbove) and
/// z - 1 >= t (atOrAboveM1), and the split of the piece below t (f linear
/// with capped ranks >= max(atOrAboveM1, atOrAbove), fractional from
/// atOrAbove, split at floor(t) + 1). [B, H, M] i32 each. Also per row the
/// finite ranks [negInfEnd, posInfBegin) ([B, H, 2] i32).
struct Breaks {
  Value capLo[2], midLo[2], split[2], atOrAbove[2], atOrAboveM1[2],
      pieceSplit[2];
  Value ends;
};

Breaks buildBreaks(ImplicitLocOpBuilder &b, const Ranks &rk, const Rows &r) {
  Type i32t = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  constexpr int kPer = 6;
  SmallVector<Value> inits;
  for (int i = 0; i < 2 * kPer; ++i)
    inits.push_back(
        scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, r.m}, i32t));
  SmallVector<Value> res = forallUpdate(
      b, {r.m, r.hsz, r.bsz}, inits,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value p = iv[0], hi = iv[1], bi = iv[2];
        SortedSearch ss(fb, rk, bi, hi, r.m, r.levels);
        SmallVector<ForallSlice> out;
        Value zero = constIndex(fb, 0), one = constIndex(fb, 1);
        for (int f = 0; f < 2; ++f) {
          Value t = f == 0 ? ss.z(p) : ss.zm1(p);
          Value floorT = math::FloorOp::create(fb, t);
          Value above, atOrAbove;
          if (f == 0) {
            // t = z(p): the ranks after p hold scores >= t, so unless the
            // score p has equal neighbours (ties), z > t from p + 1 on
            // and z >= t from p: two loads instead of two searches
            // (NOTES run 180).
            Value ordered = cmpf(fb, FP::OEQ, t, t);
            // True at the row's ends (the neighbour's load out of bounds).
            Value yes = arith::ConstantIntOp::create(fb, 1, 1);
            Value nextUp = valueUnless(
                fb, cmpi(fb, P::eq, add(fb, p, one), r.m), yes, [&] {
                  return cmpf(fb, FP::OGT, ss.z(add(fb, p, one)), t);
                });
            Value prevDown =
                valueUnless(fb, cmpi(fb, P::eq, p, zero), yes, [&] {
                  return cmpf(fb, FP::OLT, ss.z(sub(fb, p, one)), t);
                });
            above = valueUnless(fb, arith::AndIOp::create(fb, ordered, nextUp),
                                add(fb, p, one), [&] { return ss.upperZ(t); });
            atOrAbove =
                valueUnless(fb, arith::AndIOp::create(fb, ordered, prevDown),
                            p, [&] { return ss.lowerZ(t); });
          } else {
            above = ss.upperZ(t);
            atOrAbove = ss.lowerZ(t);
          }
          Value atOrAboveM1 = ss.lowerZm1(t);
          // The bounds of f(t): capped are z - 1 >= t (with z > t),
          // fractional z > t.
          Bounds bd =
              ss.boundsOf(maxIndex(fb, atOrAboveM1, above), above, floorT);
          Bounds piece = ss.boundsOf(maxIndex(fb, atOrAboveM1, atOrAbove),
                                     atOrAbove, floorT);
          SmallVector<Value> vals = {bd.capLo,   bd.midLo,    bd.split,
                                     atOrAbove, atOrAboveM1, piece.split};
          for (auto [i, v] : llvm::enumerate(vals))
            out.push_back(scalarSlice(fb, i32(fb, v), outs[f * kPer + i],
                                      {bi, hi, p}));
        }
        return out;
      });
  Breaks br;
  for (int f = 0; f < 2; ++f) {
    br.capLo[f] = res[f * kPer];
    br.midLo[f] = res[f * kPer + 1];
    br.split[f] = res[f * kPer + 2];
    br.atOrAbove[f] = res[f * kPer + 3];
    br.atOrAboveM1[f] = res[f * kPer + 4];
    br.pieceSplit[f] = res[f * kPer + 5];
  }
  br.ends = forallUpdate1(
      b, {r.hsz, r.bsz},
      scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, constIndex(b, 2)},
                    i32t),
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value hi = iv[0], bi = iv[1];
        SortedSearch ss(fb, rk, bi, hi, r.m, r.levels);
        // Without infinite scores (the common case) both ends are known
        // from the first and last ranks: z(0) > -inf puts every rank above
        // -inf (a NaN sorts at either end), and with z(M - 1) < +inf too
        // every rank is finite. Else the binary searches (two chains of
        // ~log M dependent loads; NOTES run 176: 12.3 us at 64K).
        Type i1t = fb.getI1Type();
        Value zero = constIndex(fb, 0), one = constIndex(fb, 1);
        Value yes = arith::ConstantIntOp::create(fb, 1, 1);
        SmallVector<Value> known = ifElse(
            fb, cmpi(fb, P::sgt, r.m, zero), {i1t, i1t},
            [&](ImplicitLocOpBuilder &) {
              Value low = cmpf(fb, FP::OGT, ss.z(zero), constF64(fb, -kInf));
              Value high = cmpf(fb, FP::OLT, ss.z(sub(fb, r.m, one)),
                                constF64(fb, kInf));
              return SmallVector<Value>{low,
                                        arith::AndIOp::create(fb, low, high)};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{yes, yes};
            });
        Value lo = valueUnless(fb, known[0], zero, [&] {
          return ss.upperZ(constF64(fb, -kInf));
        });
        Value end = valueUnless(fb, known[1], r.m, [&] {
          return ss.lowerZ(constF64(fb, kInf));
        });
        return rowSlice(fb, {i32(fb, lo), i32(fb, end)}, out, {bi, hi});
      });
  return br;
}

/// Entries of the prefix [0, c) with rank below each of `bounds`: counts,
/// and fractional sums where `sums` says (else 0). One walk down W1 for all
/// bounds, so their loads overlap.
SmallVector<std::pair<Value, Value>> belowMany(ImplicitLocOpBuilder &b,
                                               const Tree &w, Value bi,
                                               Value hi, ArrayRef<Value> bounds,
                                               ArrayRef<bool> sums, Value c) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  TreeCursor cur{w, bi, hi};
  size_t nb = bounds.size();
  // Per bound: node start, end of the prefix within the node, count, sum.
  // (A prefix's start stays 0 on every level.)
  SmallVector<Value> inits;
  for (size_t i = 0; i < nb; ++i)
    inits.append({zero, c, zero, constF64(b, 0)});
  SmallVector<Value> res = forLoop(
      b, zero, w.levels, inits,
      [&](ImplicitLocOpBuilder &lb, Value l, ValueRange a) {
        Value lvl = sub(lb, sub(lb, w.levels, one), l);
        SmallVector<Value> next;
        Value sh = nodeLog2(lb, lvl);
        Value three = constIndex(lb, kArity - 1);
        for (size_t i = 0; i < nb; ++i) {
          Value st = a[4 * i], e = a[4 * i + 1];
          // The bound's child d: children 0..d-1 lie below it.
          Value d = arith::AndIOp::create(lb, shr(lb, bounds[i], sh), three);
          Value cd = cur.countAt(lb, lvl, st, e, d);
          Value last = cmpi(lb, P::eq, d, three);
          Value cd1 = sel(lb, last, e,
                          cur.countAt(lb, lvl, st, e,
                                      minIndex(lb, add(lb, d, one), three)));
          Value sum = a[4 * i + 3];
          if (sums[i])
            sum = arith::AddFOp::create(lb, sum,
                                        cur.sumAt(lb, lvl, st, e, d));
          next.append({add(lb, st, shl(lb, d, sh)), sub(lb, cd1, cd),
                       add(lb, a[4 * i + 2], cd), sum});
        }
        return next;
      });
  SmallVector<std::pair<Value, Value>> out;
  for (size_t i = 0; i < nb; ++i)
    out.push_back({res[4 * i + 2], res[4 * i + 3]});
  return out;
}

class QueryThreshold {
public:
  QueryThreshold(ImplicitLocOpBuilder &b, const Ranks &rk, const Tree &w,
                 const Breaks &br, Value bi, Value hi, Value c)
      : b(b), w(w), br(br), bi(bi), hi(hi), c(c), zero(constIndex(b, 0)),
        one(constIndex(b, 1)), ss(b, rk, bi, hi, w.m, w.bits) {}

  /// Where the two threshold searches of a query may look: by monotonicity
  /// (f grows with the prefix, so each first breakpoint with f <= k only
  /// moves up along the row) between the answers of two sampled queries
  /// around it.
  struct Bracket {
    Value lo[2], hi[2];
  };

  /// tau of the prefix [0, c) for k (f64); the searches within `bracket`
  /// when given.
  Value tau(int64_t k, const Bracket *bracket = nullptr) {
    Ends e = ends(k);
    Type f64t = b.getF64Type();
    return ifElse(
        b, e.allSelected, {f64t},
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{constF64(b, -kInf)};
        },
        [&](ImplicitLocOpBuilder &) {
          return ifElse(
              b, e.infinite, {f64t},
              [&](ImplicitLocOpBuilder &) {
                return SmallVector<Value>{constF64(b, kInf)};
              },
              [&](ImplicitLocOpBuilder &) {
                return SmallVector<Value>{finiteTau(static_cast<double>(k),
                                                    e.negInfEnd,
                                                    e.posInfBegin, bracket)};
              });
        })[0];
  }

  /// Where the two searches of this query (a sample) look, for parallel
  /// probing: the ranges the sequential searchBoth would halve, [lo, hi]
  /// (the answer is the first rank in [lo, hi) where f <= k, or hi); empty
  /// (lo = hi = the answer) when every candidate is selected or tau = +inf.
  Bracket searchRange(int64_t k) {
    Ends e = ends(k);
    Type it = b.getIndexType();
    SmallVector<Value> res = ifElse(
        b, arith::OrIOp::create(b, e.allSelected, e.infinite), {it, it, it, it},
        [&](ImplicitLocOpBuilder &) {
          Value r = sel(b, e.allSelected, e.negInfEnd, e.posInfBegin);
          return SmallVector<Value>{r, r, r, r};
        },
        [&](ImplicitLocOpBuilder &) {
          Bracket kb = within(kthBracket(k), e.negInfEnd, e.posInfBegin);
          return SmallVector<Value>{kb.lo[0], kb.hi[0], kb.lo[1], kb.hi[1]};
        });
    Bracket out;
    for (int f = 0; f < 2; ++f) {
      out.lo[f] = res[2 * f];
      out.hi[f] = res[2 * f + 1];
    }
    return out;
  }

  /// Both searches' predicates at ranks mids[0] (family 0: f(z(r)) > k)
  /// and mids[1] (family 1: f(z(r) - 1) > k), valid ranks of the row's
  /// finite range: one walk down W1 for all six bounds.
  SmallVector<Value> probe(double k, ArrayRef<Value> mids) {
    Value kk = constF64(b, k);
    SmallVector<Value> bounds, ts, floors;
    for (int f = 0; f < 2; ++f) {
      for (Value arr : {br.capLo[f], br.midLo[f], br.split[f]})
        bounds.push_back(idx(b, ext(b, arr, {bi, hi, mids[f]})));
      Value t = f == 0 ? ss.z(mids[f]) : ss.zm1(mids[f]);
      ts.push_back(t);
      floors.push_back(math::FloorOp::create(b, t));
    }
    auto cnt = belowMany(b, w, bi, hi, bounds,
                         {true, true, false, true, true, false}, c);
    SmallVector<Value> preds;
    for (int f = 0; f < 2; ++f) {
      Value fv = fOf(cnt[3 * f], cnt[3 * f + 1], cnt[3 * f + 2].first,
                     floors[f], ts[f])
                     .first;
      preds.push_back(cmpf(b, FP::OGT, fv, kk));
    }
    return preds;
  }

  /// `br` clamped to [lo, hi): each family's start into it, its end
  /// between that start and hi.
  Bracket within(const Bracket &br, Value lo, Value hi_) {
    Bracket out;
    for (int f = 0; f < 2; ++f) {
      out.lo[f] = clampIndex(b, br.lo[f], lo, hi_);
      out.hi[f] = clampIndex(b, br.hi[f], out.lo[f], hi_);
    }
    return out;
  }

  /// A bracket from the prefix's k-th and (k+1)-th best scores theta_k and
  /// theta_{k+1} (more than k candidates above -inf): f(t) <= #{z > t}
  /// <= k - 1 for t >= theta_k, and f(t) >= #{z >= t + 1} >= k + 1 for
  /// t <= theta_{k+1} - 1. So the first rank with f(z) <= k lies in
  /// [upperZ(theta_{k+1} - 1), lowerZ(theta_k)], and the first with
  /// f(z - 1) <= k in [upperZ(theta_{k+1}), lowerZm1(theta_k)]: the band
  /// around the k-th best instead of the whole row. The lower ends rely on
  /// theta_{k+1} - 1 < theta_{k+1} with room to spare, so they are used
  /// only below 2^50 in magnitude (else the search starts at the row's
  /// finite ranks).
  Bracket kthBracket(int64_t k) {
    Value kIdx = constIndex(b, k);
    SmallVector<Value> q = quantiles(
        b, w, bi, hi, {add(b, sub(b, c, kIdx), one), sub(b, c, kIdx)}, zero, c);
    Value rk = q[0], rk1 = q[1];
    auto at = [&](Value arr, Value r) { return idx(b, ext(b, arr, {bi, hi, r})); };
    Value safe = cmpf(b, FP::OLT, math::AbsFOp::create(b, ss.z(rk1)),
                      constF64(b, 0x1p50));
    Bracket out;
    out.lo[0] = sel(b, safe, at(br.midLo[1], rk1), zero);
    out.hi[0] = at(br.atOrAbove[0], rk);
    out.lo[1] = sel(b, safe, at(br.midLo[0], rk1), zero);
    out.hi[1] = at(br.atOrAboveM1[0], rk);
    return out;
  }

private:
  /// The finite ranks [negInfEnd, posInfBegin) of the row, and whether the
  /// prefix has at most k candidates above -inf (tau = -inf) or more than k
  /// at +inf (tau = +inf).
  struct Ends {
    Value negInfEnd, posInfBegin, allSelected, infinite;
  };
  Ends ends(int64_t k) {
    Value negInfEnd = idx(b, ext(b, br.ends, {bi, hi, zero}));
    Value posInfBegin = idx(b, ext(b, br.ends, {bi, hi, one}));
    // The prefix's entries below both ends: 0 and c without a walk when
    // the row has no infinite score (the common case; uniform per row).
    Type it = b.getIndexType();
    Value finiteRow = arith::AndIOp::create(
        b, cmpi(b, P::eq, negInfEnd, zero), cmpi(b, P::eq, posInfBegin, w.m));
    SmallVector<Value> below = ifElse(
        b, finiteRow, {it, it},
        [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{zero, c}; },
        [&](ImplicitLocOpBuilder &) {
          auto cnt = belowMany(b, w, bi, hi, {negInfEnd, posInfBegin},
                               {false, false}, c);
          return SmallVector<Value>{cnt[0].first, cnt[1].first};
        });
    Value kIdx = constIndex(b, k);
    return {negInfEnd, posInfBegin,
            cmpi(b, P::sle, sub(b, c, below[0]), kIdx),
            cmpi(b, P::sgt, sub(b, c, below[1]), kIdx)};
  }

  /// f(t) when ranks >= capLo are capped and ranks in [midLo, capLo)
  /// fractional (floor(z) = F or F + 1 for F = floor(t)):
  ///   capped + #{frac : z >= F + 1} + sum r(z) + #frac (F - t),
  /// or just capped without fractional entries; from the prefix's counts
  /// (and sums) below capLo, midLo and split. Also returns #frac.
  std::pair<Value, Value> fOf(std::pair<Value, Value> cap,
                              std::pair<Value, Value> mid, Value cSplit,
                              Value floorT, Value t) {
    auto [cCap, sCap] = cap;
    auto [cMid, sMid] = mid;
    Value frac = sub(b, cCap, cMid);
    Value none = cmpi(b, P::eq, frac, zero);
    Value capped = f64(b, sub(b, c, cCap));
    Value fracSum = sel(b, none, constF64(b, 0),
                        arith::SubFOp::create(b, sCap, sMid));
    Value parts = arith::AddFOp::create(
        b, arith::AddFOp::create(b, capped, f64(b, sub(b, cCap, cSplit))),
        fracSum);
    Value whole = arith::AddFOp::create(
        b, parts,
        arith::MulFOp::create(b, f64(b, frac),
                              arith::SubFOp::create(b, floorT, t)));
    return {sel(b, none, capped, whole), frac};
  }
  /// The first rank of [lo, hi) where f(z(r)) <= k (family 0) and where
  /// f(z(r) - 1) <= k (family 1), within the bracket's ranges when given
  /// (clamped to [lo, hi)): two binary searches advanced together, each
  /// probe's bounds read from Breaks and both probes' counts taken in one
  /// walk; as many halvings as the longer range needs.
  std::pair<Value, Value> searchBoth(double k, Value lo, Value hi_,
                                     const Bracket *bracket) {
    Bracket r = bracket ? within(*bracket, lo, hi_)
                        : Bracket{{lo, lo}, {hi_, hi_}};
    SmallVector<Value> los = {r.lo[0], r.lo[1]}, his = {r.hi[0], r.hi[1]};
    Value longest = maxIndex(b, sub(b, r.hi[0], r.lo[0]),
                             sub(b, r.hi[1], r.lo[1]));
    // floor(log2(len)) + 1 halvings empty a range of len (0 for none).
    Value lz = math::CountLeadingZerosOp::create(
        b, arith::IndexCastOp::create(b, b.getI64Type(), longest));
    Value iterCount = sub(b, constIndex(b, 64),
                          arith::IndexCastOp::create(b, b.getIndexType(), lz));
    SmallVector<Value> res = partitionPoints(
        b, los, his, iterCount,
        [&](ImplicitLocOpBuilder &, ArrayRef<Value> mids) {
          return probe(k, mids);
        });
    return {res[0], res[1]};
  }

  Value finiteTau(double k, Value negInfEnd, Value posInfBegin,
                  const Bracket *bracket) {
    Value kk = constF64(b, k), inf = constF64(b, kInf);
    // The first breakpoint of each family with f <= k.
    auto [rz, rzm] = searchBoth(k, negInfEnd, posInfBegin, bracket);
    Value last = sub(b, posInfBegin, one);
    auto valueAt = [&](Value r, bool minusOne) {
      Value safe = minIndex(b, r, last);
      return sel(b, cmpi(b, P::slt, r, posInfBegin),
                 minusOne ? ss.zm1(safe) : ss.z(safe), inf);
    };
    // hiT, the smaller of the two, as a (rank, family) whose precomputed
    // bounds describe it (they depend on the value alone). None (cannot
    // happen with at most k entries of +inf): the largest finite
    // breakpoint.
    Value vz = valueAt(rz, false), vzm = valueAt(rzm, true);
    Value useZm = cmpf(b, FP::OLT, vzm, vz);
    Value hiT = arith::MinimumFOp::create(b, vz, vzm);
    Value none = cmpf(b, FP::OEQ, hiT, inf);
    hiT = sel(b, none, ss.z(last), hiT);
    Value fam1 = arith::AndIOp::create(
        b, useZm, arith::XOrIOp::create(b, none,
                                        arith::ConstantIntOp::create(b, 1, 1)));
    Value rh = sel(b, none, last, sel(b, useZm, rzm, rz));
    auto at = [&](Value const (&arr)[2]) {
      return idx(b, sel(b, fam1, ext(b, arr[1], {bi, hi, rh}),
                        ext(b, arr[0], {bi, hi, rh})));
    };
    // The breakpoint just below hiT.
    auto before = [&](Value r, bool minusOne) {
      Value safe = maxIndex(b, sub(b, r, one), zero);
      return sel(b, cmpi(b, P::sgt, r, negInfEnd),
                 minusOne ? ss.zm1(safe) : ss.z(safe), constF64(b, -kInf));
    };
    Value atOrAbove = at(br.atOrAbove);
    Value atOrAboveM1 = at(br.atOrAboveM1);
    Value loT = arith::MaximumFOp::create(b, before(atOrAbove, false),
                                          before(atOrAboveM1, true));
    Value first = cmpf(b, FP::OEQ, loT, constF64(b, -kInf));
    // One walk: f(hiT) and, for the piece (loT, hiT], f at floor(hiT)
    // (capped z - 1 >= hiT or z >= hiT..., fractional z >= hiT and not
    // capped).
    Value capLo = maxIndex(b, atOrAboveM1, atOrAbove);
    Value midLo = minIndex(b, atOrAbove, capLo);
    Value floorT = math::FloorOp::create(b, hiT);
    auto cnt = belowMany(
        b, w, bi, hi,
        {at(br.capLo), at(br.midLo), at(br.split), capLo, midLo,
         at(br.pieceSplit)},
        {true, true, false, true, true, false}, c);
    Value exact =
        cmpf(b, FP::OEQ, fOf(cnt[0], cnt[1], cnt[2].first, floorT, hiT).first,
             kk);
    auto [fAtFloor, frac] = fOf(cnt[3], cnt[4], cnt[5].first, floorT, floorT);
    // f is linear on (loT, hiT]: solve f(t) = k there.
    Value excess = arith::SubFOp::create(b, fAtFloor, kk);
    Value t = arith::AddFOp::create(
        b, floorT, arith::DivFOp::create(b, excess, f64(b, frac)));
    t = arith::MinimumFOp::create(b, arith::MaximumFOp::create(b, t, loT), hiT);
    Value solved = sel(b, cmpi(b, P::eq, frac, zero), hiT, t);
    return sel(b, arith::OrIOp::create(b, first, exact), hiT, solved);
  }

  /// Every region's builder (forLoop, ifElse and partitionPoint build their
  /// bodies with the builder they are given).
  ImplicitLocOpBuilder &b;
  const Tree &w;
  const Breaks &br;
  Value bi, hi, c, zero, one;
  SortedSearch ss;
};

/// Everything the per-query kernels read: ranks, W1 and the breakpoints'
/// bounds.
struct RowSelection {
  Rows rows;
  Ranks ranks;
  Tree w1;
  Breaks breaks;
};

RowSelection buildRowSelection(ImplicitLocOpBuilder &b, Value u,
                               const SelectionKernels *kernels = nullptr) {
  RowSelection s;
  s.rows = rowsOf(b, u);
  s.ranks = buildRanks(b, u, s.rows, kernels);
  s.w1 = buildByRank(b, u, s.ranks, s.rows, kernels);
  s.breaks = buildBreaks(b, s.ranks, s.rows);
  return s;
}

/// Queries between two samples of the threshold searches: every 32nd query
/// (and the last) searches the band around its k-th best, the others only
/// between their samples' answers.
constexpr int64_t kSampleStride = 32;
/// A sample's two searches run in rounds of kProbes parallel probes each
/// (one thread per probe), not as one thread's chain of ~19 halvings: a
/// round cuts a range of L ranks to at most floor(L / (kProbes + 1)).
/// Measured on an H100 at N = 65536, 2 rows (bench/NOTES.md run 51):
/// sequential, stride 16: 240 us of sample searches + 155 us for every
/// query; stride 32 with 16 probes: 108 + 159 us; stride 16 with 64 probes:
/// 285 + 156 (a round of 4K samples x 64 probes is work-bound, ~105 us);
/// stride 64 with 32 probes: 95 + 175. A round costs at least one probe's
/// walk (~20 us), and probes multiply the searches' work (16 x 5 rounds
/// instead of ~19 halvings per sample), so more probes pay only while the
/// GPU has room.
constexpr int64_t kProbesLog2 = 4;
constexpr int64_t kProbes = int64_t(1) << kProbesLog2;
/// The sample searches stop once a range holds at most about this many
/// ranks (M / 17^R < 2^kResidualLog2), leaving them to the queries'
/// searches (a few halvings, only where the band is that wide): one round
/// fewer at 16K, 64K and 256K (NOTES run 183).
constexpr int64_t kResidualLog2 = 4;

/// Rounds of kProbes probes that empty any range of at most m ranks:
/// the least R with (kProbes + 1)^R > m (m < 2^63).
Value probeRounds(ImplicitLocOpBuilder &b, Value m) {
  Value rounds = constIndex(b, 1);
  int64_t pow = 1;
  while (pow <= std::numeric_limits<int64_t>::max() / (kProbes + 1)) {
    pow *= kProbes + 1;
    rounds = add(b, rounds,
                 arith::IndexCastOp::create(
                     b, b.getIndexType(),
                     arith::ExtUIOp::create(
                         b, b.getI64Type(),
                         cmpi(b, P::sge, m, constIndex(b, pow)))));
  }
  return rounds;
}

/// Where every sample's two threshold searches end (the first rank of each
/// family with f <= k; the start of the finite ranks when every candidate
/// is selected, their end when tau = +inf): ranges [lo, hi] holding the
/// answers, narrowed in rounds: each round's probes of a range (hi: no
/// rank of the range has f <= k) sit at lo + floor((p + 1) L / (kProbes +
/// 1)), p < kProbes, for L = hi - lo > 0; the first probe where the
/// predicate is false bounds the answer above, the last where it is true
/// below. probeRounds(M / kResidual) rounds leave at most ~kResidual ranks
/// of a range (most ranges, the band around the k-th best, are exact by
/// then); the queries' searches take the rest. Returns (lo, hi) of family
/// 0 and 1 per (batch, head, sample).
std::pair<std::pair<Value, Value>, std::pair<Value, Value>> sampleAnswers(ImplicitLocOpBuilder &b,
                                      const RowSelection &s, int64_t k,
                                      int64_t window, Value n, Value stride,
                                      Value lastQuery, Value nSamples) {
  const Rows &r = s.rows;
  Type i32t = b.getI32Type(), i8t = b.getI8Type();
  int64_t dyn = ShapedType::kDynamic;
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value probes = constIndex(b, kProbes);
  Value probes1 = constIndex(b, kProbes + 1);
  Value rounds = probeRounds(b, shr(b, r.m, constIndex(b, kResidualLog2)));
  SmallVector<Value> sampleSizes = {r.bsz, r.hsz, nSamples};
  auto sampleRow = [&]() {
    return scratchTensor(b, {dyn, dyn, dyn}, sampleSizes, i32t);
  };
  auto queryOf = [&](ImplicitLocOpBuilder &fb, Value j) {
    return minIndex(fb, arith::MulIOp::create(fb, j, stride), lastQuery);
  };
  // The ranges: lo0, hi0, lo1, hi1.
  SmallVector<Value> range = forallUpdate(
      b, {nSamples, r.hsz, r.bsz},
      {sampleRow(), sampleRow(), sampleRow(), sampleRow()},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value j = iv[0], hi = iv[1], bi = iv[2];
        Value c = candidateCount(fb, queryOf(fb, j), r.m, n, window);
        QueryThreshold q(fb, s.ranks, s.w1, s.breaks, bi, hi, c);
        QueryThreshold::Bracket br = q.searchRange(k);
        SmallVector<ForallSlice> out;
        for (int f = 0; f < 2; ++f) {
          out.push_back(scalarSlice(fb, i32(fb, br.lo[f]), outs[2 * f], {bi, hi, j}));
          out.push_back(
              scalarSlice(fb, i32(fb, br.hi[f]), outs[2 * f + 1], {bi, hi, j}));
        }
        return out;
      });
  // Probe p of family f at lo + floor((p + 1) L / (kProbes + 1)).
  auto probeAt = [&](ImplicitLocOpBuilder &fb, Value lo, Value len, Value p) {
    return add(fb, lo,
               arith::DivUIOp::create(
                   fb, arith::MulIOp::create(fb, add(fb, p, one), len),
                   probes1));
  };
  // The rounds' state in two sets, each round reading one and writing the
  // other (a round's probes read every flag of their sample's last round):
  // per (sample, probe) its copy of the sample's ranges (lo0, hi0, lo1,
  // hi1; i32 [B, H, nSamples * kProbes]), then per family the flags
  // ([B, H, nSamples, kProbes] i8). Round r's probes narrow round r - 1's
  // ranges by its flags themselves, so no launch of its own narrows them
  // (NOTES run 179: one ~3.8 us launch a round at 64K); the last round's
  // ranges are narrowed once, after the loop.
  constexpr int kSet = 6;
  SmallVector<Value> slotSizes = {r.bsz, r.hsz,
                                  arith::MulIOp::create(b, nSamples, probes)};
  SmallVector<Value> flagSizes = {r.bsz, r.hsz, nSamples, probes};
  auto newSet = [&]() {
    SmallVector<Value> set;
    for (int i = 0; i < 4; ++i)
      set.push_back(scratchTensor(b, {dyn, dyn, dyn}, slotSizes, i32t));
    for (int f = 0; f < 2; ++f)
      set.push_back(scratchTensor(b, {dyn, dyn, dyn, dyn}, flagSizes, i8t));
    return set;
  };
  // Ranges (lo0, hi0, lo1, hi1) narrowed by a round's flags: the answer
  // lies after the last probe with f > k and at or before the first
  // without (the flags of a range are true then false: f only falls as
  // the rank grows, so their count is where they turn). A finished family
  // (no rank left) keeps its range.
  auto narrow = [&](ImplicitLocOpBuilder &fb, ArrayRef<Value> rng,
                    ValueRange flags, Value bi, Value hi, Value j) {
    SmallVector<Value> out;
    for (int f = 0; f < 2; ++f) {
      Value lo = rng[2 * f], h = rng[2 * f + 1];
      Value len = sub(fb, h, lo);
      Value t = zero;
      for (int64_t p = 0; p < kProbes; ++p)
        t = add(fb, t,
                arith::IndexCastOp::create(
                    fb, fb.getIndexType(),
                    arith::ExtUIOp::create(
                        fb, fb.getI32Type(),
                        ext(fb, flags[f], {bi, hi, j, constIndex(fb, p)}))));
      Value live = cmpi(fb, P::sgt, len, zero);
      Value below = sub(fb, maxIndex(fb, t, one), one);
      Value newLo = sel(fb, cmpi(fb, P::sgt, t, zero),
                        add(fb, probeAt(fb, lo, len, below), one), lo);
      Value newHi = sel(fb, cmpi(fb, P::slt, t, probes),
                        probeAt(fb, lo, len,
                                minIndex(fb, t, sub(fb, probes, one))),
                        h);
      out.push_back(sel(fb, live, newLo, lo));
      out.push_back(sel(fb, live, newHi, h));
    }
    return out;
  };
  // The four range ends of `set` at [bi, hi, at].
  auto rangesAt = [&](ImplicitLocOpBuilder &fb, ValueRange set, Value bi,
                      Value hi, Value at) {
    SmallVector<Value> rng;
    for (int i = 0; i < 4; ++i)
      rng.push_back(idx(fb, ext(fb, set[i], {bi, hi, at})));
    return rng;
  };
  // Round `round` (0: the sample ranges as searchRange gave them):
  // every probe of every sample, (sample, probe) flattened, reading `from`
  // and writing `to`.
  auto roundOf = [&](ImplicitLocOpBuilder &lb, Value round, ValueRange from,
                     ValueRange to) {
    return forallUpdate(
        lb, {slotSizes[2], r.hsz, r.bsz}, to,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value slot = iv[0], hi = iv[1], bi = iv[2];
          Value j = shr(fb, slot, constIndex(fb, kProbesLog2));
          Value p = arith::AndIOp::create(fb, slot,
                                          constIndex(fb, kProbes - 1));
          Type it = fb.getIndexType();
          SmallVector<Value> rng = ifElse(
              fb, cmpi(fb, P::eq, round, zero), {it, it, it, it},
              [&](ImplicitLocOpBuilder &) {
                return rangesAt(fb, range, bi, hi, j);
              },
              [&](ImplicitLocOpBuilder &) {
                return narrow(fb, rangesAt(fb, from, bi, hi, slot),
                              from.drop_front(4), bi, hi, j);
              });
          SmallVector<Value> lo, len;
          for (int f = 0; f < 2; ++f) {
            lo.push_back(rng[2 * f]);
            len.push_back(sub(fb, rng[2 * f + 1], rng[2 * f]));
          }
          Value live0 = cmpi(fb, P::sgt, len[0], zero);
          Value live1 = cmpi(fb, P::sgt, len[1], zero);
          // A round past the count (the pairs' last when it is odd) only
          // narrows: its ranges are the result.
          Value any = arith::AndIOp::create(
              fb, arith::OrIOp::create(fb, live0, live1),
              cmpi(fb, P::ult, round, rounds));
          Type i1t = fb.getI1Type();
          SmallVector<Value> preds = ifElse(
              fb, any, {i1t, i1t},
              [&](ImplicitLocOpBuilder &) {
                Value m0 = probeAt(fb, lo[0], len[0], p);
                Value m1 = probeAt(fb, lo[1], len[1], p);
                // A finished family probes where the other one does (a
                // valid rank); the narrowing ignores its flag.
                SmallVector<Value> mids = {sel(fb, live0, m0, m1),
                                           sel(fb, live1, m1, m0)};
                Value c =
                    candidateCount(fb, queryOf(fb, j), r.m, n, window);
                QueryThreshold q(fb, s.ranks, s.w1, s.breaks, bi, hi, c);
                return q.probe(static_cast<double>(k), mids);
              },
              [&](ImplicitLocOpBuilder &) {
                Value no = arith::ConstantIntOp::create(fb, 0, 1);
                return SmallVector<Value>{no, no};
              });
          SmallVector<ForallSlice> out;
          for (int i = 0; i < 4; ++i)
            out.push_back(
                scalarSlice(fb, i32(fb, rng[i]), outs[i], {bi, hi, slot}));
          for (int f = 0; f < 2; ++f)
            out.push_back(scalarSlice(
                fb, arith::ExtUIOp::create(fb, i8t, preds[f]), outs[4 + f],
                {bi, hi, j, p}));
          return out;
        });
  };
  // Rounds in pairs (set A -> B, B -> A); when their count is odd, the
  // last pair's second round only narrows the ranges of the one before.
  Value pairs = arith::CeilDivUIOp::create(b, rounds, constIndex(b, 2));
  SmallVector<Value> inits = newSet();
  inits.append(newSet());
  SmallVector<Value> res = forLoop(
      b, zero, pairs, inits,
      [&](ImplicitLocOpBuilder &lb, Value pair, ValueRange it) {
        Value r0 = arith::MulIOp::create(lb, pair, constIndex(lb, 2));
        ValueRange a = it.take_front(kSet), bset = it.drop_front(kSet);
        SmallVector<Value> b1 = roundOf(lb, r0, a, bset);
        SmallVector<Value> a1 = roundOf(lb, add(lb, r0, one), b1, a);
        a1.append(b1);
        return a1;
      });
  ArrayRef<Value> last = ArrayRef<Value>(res).take_front(kSet);
  // The last round's ranges, narrowed by its flags when it probed.
  Value probed = cmpi(b, P::eq, arith::MulIOp::create(b, pairs,
                                                      constIndex(b, 2)),
                      rounds);
  SmallVector<Value> ranges = forallUpdate(
      b, {nSamples, r.hsz, r.bsz},
      {sampleRow(), sampleRow(), sampleRow(), sampleRow()},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value j = iv[0], hi = iv[1], bi = iv[2];
        Value slot = shl(fb, j, constIndex(fb, kProbesLog2));
        SmallVector<Value> got = rangesAt(fb, last, bi, hi, slot);
        Type it = fb.getIndexType();
        SmallVector<Value> rng = ifElse(
            fb, probed, {it, it, it, it},
            [&](ImplicitLocOpBuilder &) {
              return narrow(fb, got, last.drop_front(4), bi, hi, j);
            },
            [&](ImplicitLocOpBuilder &) { return got; });
        SmallVector<ForallSlice> out;
        for (int i = 0; i < 4; ++i)
          out.push_back(scalarSlice(fb, i32(fb, rng[i]), outs[i], {bi, hi, j}));
        return out;
      });
  return {{ranges[0], ranges[1]}, {ranges[2], ranges[3]}};
}

Value buildTausFrom(ImplicitLocOpBuilder &b, const RowSelection &s, int64_t k,
                    int64_t window, Value n, RankedTensorType resultType) {
  const Rows &r = s.rows;
  Value one = constIndex(b, 1);
  Value stride = constIndex(b, kSampleStride);
  Value lastQuery = sub(b, maxIndex(b, n, one), one);
  Value nSamples = add(b, arith::CeilDivUIOp::create(b, lastQuery, stride), one);
  // Sample j is query min(j * stride, N - 1).
  auto [fam0, fam1] =
      sampleAnswers(b, s, k, window, n, stride, lastQuery, nSamples);
  std::pair<Value, Value> samples[2] = {fam0, fam1};
  Value init = emptyTensor(b, resultType.getShape(), {r.bsz, r.hsz, n},
                           b.getF32Type());
  return forallUpdate1(
      b, {n, r.hsz, r.bsz}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value i = iv[0], hi = iv[1], bi = iv[2];
        Value c = candidateCount(fb, i, r.m, n, window);
        Value j0 = arith::DivUIOp::create(fb, i, stride);
        Value j1 = minIndex(fb, add(fb, j0, one), sub(fb, nSamples, one));
        QueryThreshold::Bracket bracket;
        for (int f = 0; f < 2; ++f) {
          // The answer moves up along the row: it lies between the first
          // sample's range's start and the second's end.
          bracket.lo[f] = idx(fb, ext(fb, samples[f].first, {bi, hi, j0}));
          bracket.hi[f] = idx(fb, ext(fb, samples[f].second, {bi, hi, j1}));
        }
        QueryThreshold q(fb, s.ranks, s.w1, s.breaks, bi, hi, c);
        Value t =
            arith::TruncFOp::create(fb, fb.getF32Type(), q.tau(k, &bracket));
        return scalarSlice(fb, t, out, {bi, hi, i});
      });
}

/// Queries per block of the top-k listing.
constexpr int64_t kTopKBlock = 32;

/// The top-k lists (keys by descending rank, -1 past the candidates), a
/// block of kTopKBlock consecutive queries at a time: query i's list is
/// the first k of the merge of its block's first query's list T0 (keys
/// below c0 outside T0 have k better keys in T0 already) with its
/// arrivals A_i = [c0, c_i) (at most kTopKBlock - 1 keys, one per query).
/// Four foralls: T0's ranks (a W1 quantile per block and entry); per
/// (query, arrival) the arrival's place in the query's merged list (a
/// binary search in T0 plus a count over A_i); per (query, word of 32
/// entries) the places as a bit mask and the count placed before the word;
/// per (query, entry) the entry, from its word (two loads and a popcount)
/// and T0, the places read again only where an arrival sits. Work
/// N k / kTopKBlock log M + N kTopKBlock (log k + kTopKBlock) +
/// N (k / 32) kTopKBlock + N k, against N k log M dependent loads for a
/// quantile per entry.
Value buildTopKFrom(ImplicitLocOpBuilder &b, const RowSelection &s, int64_t k,
                    int64_t window, Value n, RankedTensorType resultType) {
  const Rows &r = s.rows;
  Type i32t = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  constexpr int64_t kArr = kTopKBlock; // arrival slots (the last unused)
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value kIdx = constIndex(b, k), bq = constIndex(b, kTopKBlock);
  Value arrIdx = constIndex(b, kArr);
  Value nb = arith::CeilDivUIOp::create(b, n, bq);
  auto firstCount = [&](ImplicitLocOpBuilder &fb, Value blk) {
    return candidateCount(fb, arith::MulIOp::create(fb, blk, bq), r.m, n,
                          window);
  };
  // A flattened (query, slot) of `per` slots a query: query, slot, block
  // and the block's first candidate count.
  auto perQuery = [&](ImplicitLocOpBuilder &fb, Value f, Value per) {
    Value i = arith::DivUIOp::create(fb, f, per);
    Value blk = arith::DivUIOp::create(fb, i, bq);
    return std::make_tuple(
        i, Value(arith::RemUIOp::create(fb, f, per)), blk,
        firstCount(fb, blk));
  };
  // T0's ranks: entry e of block blk's first query's list ([B, H, nb, k];
  // -1 past its min(k, c0) candidates).
  Value t0 = forallUpdate1(
      b, {arith::MulIOp::create(b, nb, kIdx), r.hsz, r.bsz},
      scratchTensor(b, {dyn, dyn, dyn, dyn}, {r.bsz, r.hsz, nb, kIdx}, i32t),
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value f = iv[0], hi = iv[1], bi = iv[2];
        Value blk = arith::DivUIOp::create(fb, f, kIdx);
        Value e = arith::RemUIOp::create(fb, f, kIdx);
        Value c0 = firstCount(fb, blk);
        Value rank = ifElse(
            fb, cmpi(fb, P::slt, e, c0), {i32t},
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{i32(
                  fb, quantile(fb, s.w1, bi, hi, sub(fb, c0, e), zero, c0))};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{constI32(fb, -1)};
            })[0];
        return scalarSlice(fb, rank, out, {bi, hi, blk, e});
      });
  // Per query i and arrival a (key c0 + a, in A_i when below c_i): its
  // place in i's merged list, #{T0 above it} + #{A_i above it}; k + kArr
  // (past every list) when not in A_i. [B, H, N, kArr].
  Value none = constI32(b, k + kArr);
  Value places = forallUpdate1(
      b, {arith::MulIOp::create(b, n, arrIdx), r.hsz, r.bsz},
      scratchTensor(b, {dyn, dyn, dyn, dyn}, {r.bsz, r.hsz, n, arrIdx},
                    i32t),
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value i, a, blk, c0;
        std::tie(i, a, blk, c0) = perQuery(fb, iv[0], arrIdx);
        Value hi = iv[1], bi = iv[2];
        Value ci = candidateCount(fb, i, r.m, n, window);
        Value j = add(fb, c0, a);
        Value place = ifElse(
            fb, cmpi(fb, P::slt, j, ci), {i32t},
            [&](ImplicitLocOpBuilder &) {
              Value rj = idx(fb, ext(fb, s.ranks.rank, {bi, hi, j}));
              // T0 lists ranks in descending order: its entries above rj
              // form a prefix.
              Value len0 = minIndex(fb, kIdx, c0);
              Value aboveT0 = partitionPoint(
                  fb, zero, len0, constIndex(fb, llvm::Log2_64_Ceil(k) + 1),
                  [&](ImplicitLocOpBuilder &pb, Value t) {
                    return cmpi(pb, P::sgt,
                                idx(pb, ext(pb, t0, {bi, hi, blk, t})), rj);
                  });
              Value aboveA = forLoop(
                  fb, c0, ci, {zero},
                  [&](ImplicitLocOpBuilder &lb, Value x, ValueRange acc) {
                    Value rx = idx(lb, ext(lb, s.ranks.rank, {bi, hi, x}));
                    return SmallVector<Value>{
                        sel(lb, cmpi(lb, P::sgt, rx, rj), add(lb, acc[0], one),
                            acc[0])};
                  })[0];
              return SmallVector<Value>{i32(fb, add(fb, aboveT0, aboveA))};
            },
            [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{none}; })[0];
        return scalarSlice(fb, place, out, {bi, hi, i, a});
      });
  // Per query i and word w of its first k places: the arrivals placed
  // there (bit p % 32 for place p) and how many are placed before the
  // word ([B, H, N, ceil(k / 32)] each).
  int64_t words = llvm::divideCeil(k, 32);
  Value wordsIdx = constIndex(b, words);
  SmallVector<Value> masks = forallUpdate(
      b, {arith::MulIOp::create(b, n, wordsIdx), r.hsz, r.bsz},
      {scratchTensor(b, {dyn, dyn, dyn, dyn}, {r.bsz, r.hsz, n, wordsIdx},
                     i32t),
       scratchTensor(b, {dyn, dyn, dyn, dyn}, {r.bsz, r.hsz, n, wordsIdx},
                     i32t)},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value f = iv[0], hi = iv[1], bi = iv[2];
        Value i = arith::DivUIOp::create(fb, f, wordsIdx);
        Value w = arith::RemUIOp::create(fb, f, wordsIdx);
        Value lo32 = i32(fb, arith::MulIOp::create(fb, w, constIndex(fb, 32)));
        Value c32 = constI32(fb, 32), one32 = constI32(fb, 1);
        Value mask = constI32(fb, 0), before = constI32(fb, 0);
        for (int64_t a = 0; a < kArr - 1; ++a) {
          Value pl = ext(fb, places, {bi, hi, i, constIndex(fb, a)});
          Value off = arith::SubIOp::create(fb, pl, lo32);
          Value in = arith::AndIOp::create(
              fb, cmpi(fb, P::sge, off, constI32(fb, 0)),
              cmpi(fb, P::slt, off, c32));
          Value bit = arith::ShLIOp::create(
              fb, one32, arith::AndIOp::create(fb, off, constI32(fb, 31)));
          mask = sel(fb, in, arith::OrIOp::create(fb, mask, bit), mask);
          before = arith::AddIOp::create(
              fb, before,
              arith::ExtUIOp::create(fb, i32t, cmpi(fb, P::slt, off,
                                                    constI32(fb, 0))));
        }
        return SmallVector<ForallSlice>{
            scalarSlice(fb, mask, outs[0], {bi, hi, i, w}),
            scalarSlice(fb, before, outs[1], {bi, hi, i, w})};
      });
  // Entry p of query i: the arrival placed there, else T0's entry p minus
  // the arrivals placed before p (-1 past T0).
  Value init = emptyTensor(b, resultType.getShape(), {r.bsz, r.hsz, n, kIdx},
                           i32t);
  return forallUpdate1(
      b, {arith::MulIOp::create(b, n, kIdx), r.hsz, r.bsz}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value i, p, blk, c0;
        std::tie(i, p, blk, c0) = perQuery(fb, iv[0], kIdx);
        Value hi = iv[1], bi = iv[2];
        Value w = shr(fb, p, constIndex(fb, 5));
        Value mask = ext(fb, masks[0], {bi, hi, i, w});
        Value pre = ext(fb, masks[1], {bi, hi, i, w});
        Value bitPos = i32(fb, arith::AndIOp::create(fb, p, constIndex(fb, 31)));
        Value one32 = constI32(fb, 1);
        Value below = arith::SubIOp::create(
            fb, arith::ShLIOp::create(fb, one32, bitPos), one32);
        Value before = arith::AddIOp::create(
            fb, pre,
            math::CtPopOp::create(fb, arith::AndIOp::create(fb, mask, below)));
        Value hit = cmpi(
            fb, P::ne,
            arith::AndIOp::create(fb, arith::ShRUIOp::create(fb, mask, bitPos),
                                  one32),
            constI32(fb, 0));
        Value t = sub(fb, p, idx(fb, before));
        Value len0 = minIndex(fb, kIdx, c0);
        Value key = ifElse(
            fb, hit, {i32t},
            [&](ImplicitLocOpBuilder &) {
              // The arrival placed at p (rare: arrivals enter the top k).
              Value p32 = i32(fb, p);
              Value found = constI32(fb, -1);
              for (int64_t a = 0; a < kArr - 1; ++a) {
                Value pl = ext(fb, places, {bi, hi, i, constIndex(fb, a)});
                found = sel(fb, cmpi(fb, P::eq, pl, p32),
                            i32(fb, add(fb, c0, constIndex(fb, a))), found);
              }
              return SmallVector<Value>{found};
            },
            [&](ImplicitLocOpBuilder &) {
              return ifElse(
                  fb, cmpi(fb, P::slt, t, len0), {i32t},
                  [&](ImplicitLocOpBuilder &) {
                    Value rank = idx(fb, ext(fb, t0, {bi, hi, blk, t}));
                    return SmallVector<Value>{
                        ext(fb, s.ranks.order, {bi, hi, rank})};
                  },
                  [&](ImplicitLocOpBuilder &) {
                    return SmallVector<Value>{constI32(fb, -1)};
                  });
            })[0];
        return scalarSlice(fb, key, out, {bi, hi, i, p});
      });
}

} // namespace

Value buildParallelThresholds(ImplicitLocOpBuilder &b, Value u, int64_t k,
                              int64_t window, Value n,
                              RankedTensorType resultType) {
  return buildParallelThresholdsWith(b, u, k, window, n, resultType, nullptr);
}

Value buildParallelTopK(ImplicitLocOpBuilder &b, Value u, int64_t k,
                        int64_t window, Value n, RankedTensorType resultType) {
  return buildParallelTopKWith(b, u, k, window, n, resultType, nullptr);
}

Value buildParallelThresholdsWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                                  int64_t window, Value n,
                                  RankedTensorType resultType,
                                  const SelectionKernels *kernels) {
  return buildTausFrom(b, buildRowSelection(b, u, kernels), k, window, n,
                       resultType);
}

Value buildParallelTopKWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                            int64_t window, Value n,
                            RankedTensorType resultType,
                            const SelectionKernels *kernels) {
  return buildTopKFrom(b, buildRowSelection(b, u, kernels), k, window, n,
                       resultType);
}

std::pair<Value, Value>
buildParallelSelection(ImplicitLocOpBuilder &b, Value u, int64_t k,
                       int64_t window, Value n, RankedTensorType tauType,
                       RankedTensorType idxType) {
  RowSelection s = buildRowSelection(b, u);
  return {buildTausFrom(b, s, k, window, n, tauType),
          buildTopKFrom(b, s, k, window, n, idxType)};
}

SmallVector<Value> buildParallelBlockSelect(ImplicitLocOpBuilder &b, Value u,
                                            int64_t k, int64_t window,
                                            int64_t blockSize, Value n,
                                            TypeRange resultTypes) {
  return buildParallelBlockSelectWith(b, u, k, window, blockSize, n,
                                      resultTypes, nullptr);
}

SmallVector<Value>
buildParallelBlockSelectWith(ImplicitLocOpBuilder &b, Value u, int64_t k,
                             int64_t window, int64_t blockSize, Value n,
                             TypeRange resultTypes,
                             const SelectionKernels *kernels) {
  Type f32t = b.getF32Type(), i32t = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  RowSelection s = buildRowSelection(b, u, kernels);
  const Rows &r = s.rows;
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value kIdx = constIndex(b, k), bq = constIndex(b, blockSize);
  Value width = constIndex(b, k + blockSize - 1);
  Value nb = arith::CeilDivUIOp::create(b, n, bq);
  Value tau = buildTausFrom(b, s, k, window, n,
                            cast<RankedTensorType>(resultTypes[2]));

  // Per query: the k-th best candidate (score, index) and its rank (-1
  // while there are fewer than k candidates).
  auto rowType = cast<RankedTensorType>(resultTypes[0]);
  auto idxRowType = cast<RankedTensorType>(resultTypes[1]);
  SmallVector<Value> kth = forallUpdate(
      b, {n, r.hsz, r.bsz},
      {emptyTensor(b, rowType.getShape(), {r.bsz, r.hsz, n}, f32t),
       emptyTensor(b, idxRowType.getShape(), {r.bsz, r.hsz, n}, i32t),
       scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, n}, i32t)},
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
        Value i = iv[0], hi = iv[1], bi = iv[2];
        Value c = candidateCount(fb, i, r.m, n, window);
        SmallVector<Value> res = ifElse(
            fb, cmpi(fb, P::sge, c, kIdx), {f32t, i32t, i32t},
            [&](ImplicitLocOpBuilder &) {
              Value rank = quantile(fb, s.w1, bi, hi,
                                    add(fb, sub(fb, c, kIdx), one), zero, c);
              Value key = idx(fb, ext(fb, s.ranks.order, {bi, hi, rank}));
              return SmallVector<Value>{ext(fb, u, {bi, hi, key}),
                                        i32(fb, key), i32(fb, rank)};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{constF32(fb, -kInf), constI32(fb, -1),
                                        constI32(fb, -1)};
            });
        return SmallVector<ForallSlice>{scalarSlice(fb, res[0], outs[0], {bi, hi, i}),
                                        scalarSlice(fb, res[1], outs[1], {bi, hi, i}),
                                        scalarSlice(fb, res[2], outs[2], {bi, hi, i})};
      });
  Value kthRank = kth[2];

  // Key j >= c(i0) arrives with query max(0, j - M + N + window) and is
  // selected when it has fewer than k rivals or ranks at least the kth.
  auto newcomerSelected = [&](ImplicitLocOpBuilder &xb, Value bi, Value hi,
                              Value j) {
    Value arrive = arrivalQuery(xb, j, r.m, n, window);
    Value need = idx(xb, ext(xb, kthRank, {bi, hi, arrive}));
    Value rj = idx(xb, ext(xb, s.ranks.rank, {bi, hi, j}));
    return cmpi(xb, P::sge, rj, need);
  };
  struct Block {
    Value c0, c1, nFirst;
  };
  auto blockOf = [&](ImplicitLocOpBuilder &xb, Value blk) {
    Value i0 = arith::MulIOp::create(xb, blk, bq);
    Value i1 = sub(xb, minIndex(xb, add(xb, i0, bq), n), one);
    Value c0 = candidateCount(xb, i0, r.m, n, window);
    return Block{c0, candidateCount(xb, i1, r.m, n, window),
                 minIndex(xb, kIdx, c0)};
  };

  // Entry e < nFirst of block blk's union: the first query's selection in
  // ascending key order (W2: keys of rank >= its kth rank, smallest first).
  const Tree &w2 = s.ranks.byKey;
  auto firstSelected = [&](ImplicitLocOpBuilder &fb, Value bi, Value hi,
                           Value blk, Value e, const Block &bl) {
    Value i0 = arith::MulIOp::create(fb, blk, bq);
    Value r0 = idx(fb, ext(fb, kthRank, {bi, hi, i0}));
    Value all = cmpi(fb, P::sle, bl.c0, kIdx);
    Value safeR0 = maxIndex(fb, r0, zero);
    return ifElse(
        fb, all, {fb.getIndexType()},
        [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{e}; },
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{
              quantile(fb, w2, bi, hi, add(fb, e, one), safeR0, r.m)};
        })[0];
  };
  // Entry e of block blk's union: firstSelected below nFirst, else
  // `later()` (the newcomers and padding).
  auto unionEntry = [&](ImplicitLocOpBuilder &fb, Value bi, Value hi,
                        Value blk, Value e, function_ref<Value(const Block &)> later) {
    Block bl = blockOf(fb, blk);
    return ifElse(
        fb, cmpi(fb, P::slt, e, bl.nFirst), {i32t},
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{
              i32(fb, firstSelected(fb, bi, hi, blk, e, bl))};
        },
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{later(bl)};
        })[0];
  };
  auto unionType = cast<RankedTensorType>(resultTypes[3]);
  auto countType = cast<RankedTensorType>(resultTypes[4]);
  Value unionInit =
      emptyTensor(b, unionType.getShape(), {r.bsz, r.hsz, nb, width}, i32t);
  Value countInit = emptyTensor(b, countType.getShape(), {r.bsz, r.hsz, nb}, i32t);
  if (kernels && kernels->unionBlocks) {
    // The sample blocks' first selections from W2 (entries [nFirst, k)
    // -1 for now), then the target's kernel for the rest.
    int64_t stride = unionSampleStride(k, blockSize);
    Value strideIdx = constIndex(b, stride);
    Value samples = arith::CeilDivUIOp::create(b, nb, strideIdx);
    Value sampled = forallUpdate1(
        b, {arith::MulIOp::create(b, samples, kIdx), r.hsz, r.bsz}, unionInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
          Value f = iv[0], hi = iv[1], bi = iv[2];
          Value blk = arith::MulIOp::create(
              fb, arith::DivUIOp::create(fb, f, kIdx), strideIdx);
          Value e = arith::RemUIOp::create(fb, f, kIdx);
          Value key = unionEntry(fb, bi, hi, blk, e, [&](const Block &) {
            return constI32(fb, -1);
          });
          return scalarSlice(fb, key, out, {bi, hi, blk, e});
        });
    SmallVector<Value> blocks = kernels->unionBlocks(
        b, k, window, blockSize, kthRank, s.ranks.rank, {sampled, countInit});
    return {kth[0], kth[1], tau, blocks[0], blocks[1]};
  }

  // Union entries: the first query's selection, then the selected
  // newcomers in order, then -1.
  Value unionKeys = forallUpdate1(
      b, {arith::MulIOp::create(b, nb, width), r.hsz, r.bsz}, unionInit,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value f = iv[0], hi = iv[1], bi = iv[2];
        Value blk = arith::DivUIOp::create(fb, f, width);
        Value e = arith::RemUIOp::create(fb, f, width);
        Value key = unionEntry(fb, bi, hi, blk, e, [&](const Block &bl) {
          // The (e - nFirst)-th selected newcomer, or -1.
          Value want = sub(fb, e, bl.nFirst);
          SmallVector<Value> found = forLoop(
              fb, bl.c0, bl.c1, {zero, constI32(fb, -1)},
              [&](ImplicitLocOpBuilder &lb, Value j, ValueRange a) {
                Value selected = newcomerSelected(lb, bi, hi, j);
                Value hit = arith::AndIOp::create(
                    lb, selected, cmpi(lb, P::eq, a[0], want));
                return SmallVector<Value>{
                    sel(lb, selected, add(lb, a[0], one), a[0]),
                    sel(lb, hit, i32(lb, j), a[1])};
              });
          return found[1];
        });
        return scalarSlice(fb, key, out, {bi, hi, blk, e});
      });
  Value unionCount = forallUpdate1(
      b, {nb, r.hsz, r.bsz}, countInit,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value blk = iv[0], hi = iv[1], bi = iv[2];
        Block bl = blockOf(fb, blk);
        Value cnt = forLoop(
            fb, bl.c0, bl.c1, {bl.nFirst},
            [&](ImplicitLocOpBuilder &lb, Value j, ValueRange a) {
              return SmallVector<Value>{
                  sel(lb, newcomerSelected(lb, bi, hi, j), add(lb, a[0], one),
                      a[0])};
            })[0];
        return scalarSlice(fb, i32(fb, cnt), out, {bi, hi, blk});
      });
  return {kth[0], kth[1], tau, unionKeys, unionCount};
}

} // namespace mlir::sparsek::detail
