//===- ParallelSelection.cpp - selection in parallel along the row -*- C++ -*-===//
//
// threshold, topk and block_select without a sequential sweep over the row
// (SPEC 7: on a GPU, selection runs in parallel along the row). Every loop
// below is an scf.forall over keys or queries (one GPU thread each), except
// the scan over super-chunk totals (one thread per row, M / 1024 steps) and the
// host loop over levels.
//
// Per (batch, head) row of M scores:
//
// 1. Ranks. A merge sort whose rounds are foralls over keys: in round l a
//    key finds its place in the merged list of width 2^(l+1) by a binary
//    search in its sibling list. `order[r]` is the key of rank r in
//    ascending (score, index) order (NaN sorts as -inf), `rank[j]` its
//    inverse, `sorted[r]` the score of rank r (f64). O(M log^2 M) work.
// 2. Two wavelet matrices (L = bits of M, rounded up to even, levels), each
//    level a stable partition by one bit, MSB first: zb[l][p] = the zeros
//    before position p (chunked prefix sums: totals of 32-key chunks and of
//    32-chunk super-chunks, a scan over the super-chunks, each super-chunk's
//    scan of its chunks, a rewrite of each chunk) and a scatter. W1 over `rank` in key
//    order also keeps fz[l][p], the sum of the fractional parts r(z) = z -
//    floor(z) of the zero entries before p (Semantics 2: f is never formed
//    from sums of scores). W2 over `order` in rank order.
// 3. Per query i with prefix [0, c_i), each O(L) per primitive:
//    - W1 "ranks below R within [0, c)": count and fractional sum;
//    - W1 quantile: the k-th best candidate (kth), the p-th best (topk);
//    - tau as the reference computes it (PrefixThreshold): the first
//      breakpoint (a score z or z - 1) where f(t) <= k by two binary
//      searches over the sorted scores, each probe evaluating f through W1
//      counts and sums; then f is linear up to the previous breakpoint and
//      is solved there. O(L^2) per query.
//    - W2 quantile over ranks >= the kth's rank: a block's first query's
//      selection in ascending key order (block_select's union), then its
//      later queries' newcomers, each selected when its rank is at least
//      the kth rank of the query it arrives with.
//
// Work per row O(M log^2 M + N log^2 M) (+ O(N k log M) for topk, which
// writes N k indices), depth O(log^2 M) launches plus M / 1024 scan steps.
// The sequential sweeps of Selection.cpp stay the CPU default (O(M log M)
// on one core); this is the GPU pipeline's selection and is checked against
// the reference on the CPU with --parallel-selection.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::sparsek::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Keys per chunk, and chunks per super-chunk, of the wavelet levels'
/// prefix sums: a thread loops over at most 32 keys or chunk totals, and one
/// thread per row over the M / 1024 super-chunk totals.
constexpr int64_t kChunk = 32;
constexpr int64_t kSuper = 32;

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
Value bitSet(ImplicitLocOpBuilder &b, Value x, Value bit) {
  return cmpi(b, P::ne,
              arith::AndIOp::create(b, shr(b, x, bit), constIndex(b, 1)),
              constIndex(b, 0));
}

/// Element `offsets` of a forall's shared output `out` (its block argument)
/// set to `v`: the one-element slice is taken from `out` and written back,
/// so it bufferizes to a store (no allocation per thread).
ForallSlice scalarSlice(ImplicitLocOpBuilder &b, Value v, Value out,
                        ArrayRef<Value> offsets) {
  ForallSlice s;
  for (Value o : offsets) {
    s.offsets.push_back(o);
    s.sizes.push_back(b.getIndexAttr(1));
  }
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  auto one = RankedTensorType::get({1}, v.getType());
  Value slot =
      tensor::ExtractSliceOp::create(b, one, out, s.offsets, s.sizes, strides);
  s.source = tensor::InsertOp::create(b, v, slot, ValueRange{constIndex(b, 0)});
  return s;
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

/// Row shape: batch, heads, keys, and the number of levels L (bits of M
/// rounded up to even, at least 2: 2^L > M, and rounds come in pairs).
struct Rows {
  Value bsz, hsz, m, levels;
};

Rows rowsOf(ImplicitLocOpBuilder &b, Value u) {
  Rows r{dimValue(b, u, 0), dimValue(b, u, 1), dimValue(b, u, 2), Value()};
  Value m64 = arith::IndexCastOp::create(b, b.getI64Type(), r.m);
  Value lz = math::CountLeadingZerosOp::create(b, m64);
  Value bits = sub(b, constIndex(b, 64),
                   arith::IndexCastOp::create(b, b.getIndexType(), lz));
  // Round up to even, at least 2.
  Value even = arith::AndIOp::create(b, add(b, bits, constIndex(b, 1)),
                                     constIndex(b, ~int64_t(1)));
  r.levels = maxIndex(b, even, constIndex(b, 2));
  return r;
}

//===----------------------------------------------------------------------===//
// 1. Ranks
//===----------------------------------------------------------------------===//

struct Ranks {
  Value order, rank, sorted; // [B, H, M]: i32, i32, f64
};

Ranks buildRanks(ImplicitLocOpBuilder &b, Value u, const Rows &r) {
  Type i32t = b.getI32Type(), f64t = b.getF64Type();
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<Value> sizes = {r.bsz, r.hsz, r.m};
  Value one = constIndex(b, 1);
  auto key = [&](ImplicitLocOpBuilder &kb, Value bi, Value hi, Value j) {
    return sortKey(kb, ext(kb, u, {bi, hi, j}));
  };
  // Round l merges sorted lists of width 2^l of `src` into `dst`.
  auto round = [&](ImplicitLocOpBuilder &rb, Value l, Value src, Value dst) {
    return forallUpdate1(
        rb, {r.m, r.hsz, r.bsz}, dst,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
          Value p = iv[0], hi = iv[1], bi = iv[2];
          Value x = idx(fb, ext(fb, src, {bi, hi, p}));
          Value ux = key(fb, bi, hi, x);
          Value node = shr(fb, p, l);
          Value own = shl(fb, node, l);
          Value sibLo = minIndex(
              fb, shl(fb, arith::XOrIOp::create(fb, node, one), l), r.m);
          Value sibHi = minIndex(fb, add(fb, sibLo, shl(fb, one, l)), r.m);
          Value pos = partitionPoint(
              fb, sibLo, sibHi, add(fb, r.levels, one),
              [&](ImplicitLocOpBuilder &pb, Value mid) {
                Value y = idx(pb, ext(pb, src, {bi, hi, mid}));
                return keyLess(pb, key(pb, bi, hi, y), y, ux, x);
              });
          Value dest = add(
              fb,
              add(fb, shl(fb, shr(fb, node, one), add(fb, l, one)),
                  sub(fb, p, own)),
              sub(fb, pos, sibLo));
          return scalarSlice(fb, i32(fb, x), out, {bi, hi, dest});
        });
  };
  Value a = forallUpdate1(
      b, {r.m, r.hsz, r.bsz}, scratchTensor(b, {dyn, dyn, dyn}, sizes, i32t),
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        return scalarSlice(fb, i32(fb, iv[0]), out, {iv[2], iv[1], iv[0]});
      });
  Value scratch = scratchTensor(b, {dyn, dyn, dyn}, sizes, i32t);
  Value two = constIndex(b, 2);
  SmallVector<Value> sortedPair = forLoop(
      b, constIndex(b, 0), arith::DivUIOp::create(b, r.levels, two),
      {a, scratch},
      [&](ImplicitLocOpBuilder &lb, Value q, ValueRange it) {
        Value l = arith::MulIOp::create(lb, q, two);
        Value s = round(lb, l, it[0], it[1]);
        Value d = round(lb, add(lb, l, one), s, it[0]);
        return SmallVector<Value>{d, s};
      });
  Ranks out;
  out.order = sortedPair[0];
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

//===----------------------------------------------------------------------===//
// 2. Wavelet matrices
//===----------------------------------------------------------------------===//

/// r(z) = z - floor(z) for finite z, 0 for infinities (f64).
Value fracPart(ImplicitLocOpBuilder &b, Value z) {
  Value finite = cmpf(b, FP::OLT, math::AbsFOp::create(b, z), constF64(b, kInf));
  return sel(b, finite, arith::SubFOp::create(b, z, math::FloorOp::create(b, z)),
             constF64(b, 0));
}

struct Wavelet {
  Value zb;      // [L, B, H, M + 1] i32: zeros before each position
  Value fz;      // [L, B, H, M + 1] f64: their fractional sums (W1 only)
  Value levels;  // L
  Value m;
};

/// Builds the wavelet matrix of `seq` ([B, H, M] i32, values in [0, M));
/// with `sorted`, also the fractional sums of sorted[value].
Wavelet buildWavelet(ImplicitLocOpBuilder &b, Value seq, Value sorted,
                     const Rows &r) {
  Type i32t = b.getI32Type(), f64t = b.getF64Type();
  int64_t dyn = ShapedType::kDynamic;
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  Value chunk = constIndex(b, kChunk);
  Value mp1 = add(b, r.m, one);
  Value nc = arith::CeilDivUIOp::create(b, r.m, chunk);
  Value superSize = constIndex(b, kSuper);
  Value ns = arith::CeilDivUIOp::create(b, nc, superSize);
  bool sums = static_cast<bool>(sorted);
  Value zb = scratchTensor(b, {dyn, dyn, dyn, dyn},
                           {r.levels, r.bsz, r.hsz, mp1}, i32t);
  Value fz = sums ? scratchTensor(b, {dyn, dyn, dyn, dyn},
                                  {r.levels, r.bsz, r.hsz, mp1}, f64t)
                  : Value();
  Value cz = scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, nc}, i32t);
  Value cf = sums ? scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, nc}, f64t)
                  : Value();
  Value sz = scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, ns}, i32t);
  Value sf = sums ? scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, ns}, f64t)
                  : Value();

  // State carried over levels: next/current sequences, zb, fz, chunk and
  // super-chunk sums.
  struct State {
    Value seq, next, zb, fz, cz, cf, sz, sf;
  };
  auto pack = [&](const State &s) {
    SmallVector<Value> v = {s.seq, s.next, s.zb, s.cz, s.sz};
    if (sums)
      v.append({s.fz, s.cf, s.sf});
    return v;
  };
  auto unpack = [&](ValueRange v) {
    State s{v[0], v[1], v[2], Value(), v[3], Value(), v[4], Value()};
    if (sums) {
      s.fz = v[5];
      s.cf = v[6];
      s.sf = v[7];
    }
    return s;
  };
  // A count (index, stored as i32) and, with sums, a fractional sum written
  // at `at` of the shared outputs `outCount` and `outFrac`.
  auto countSlices = [&](ImplicitLocOpBuilder &fb, Value n, Value f,
                         Value outCount, Value outFrac, ArrayRef<Value> at) {
    SmallVector<ForallSlice> out = {scalarSlice(fb, i32(fb, n), outCount, at)};
    if (sums)
      out.push_back(scalarSlice(fb, f, outFrac, at));
    return out;
  };
  // Totals of the entries [lo, hi) of the rows (bi, hi) of `counts` (i32)
  // and `fracs` (f64; with sums).
  auto totalOf = [&](ImplicitLocOpBuilder &fb, Value counts, Value fracs,
                     Value bi, Value hi, Value lo, Value end) {
    return forLoop(fb, lo, end, {zero, constF64(fb, 0)},
                   [&](ImplicitLocOpBuilder &pb, Value c, ValueRange a) {
                     SmallVector<Value> next = {
                         add(pb, a[0], idx(pb, ext(pb, counts, {bi, hi, c}))),
                         a[1]};
                     if (sums)
                       next[1] = arith::AddFOp::create(
                           pb, a[1], ext(pb, fracs, {bi, hi, c}));
                     return next;
                   });
  };
  // The exclusive prefix scan, in place, of the entries [lo, lo + len) of
  // rows (bi, hi) of the shared outputs `outCounts` and `outFracs` (block
  // arguments), starting from (n0, f0): their slices and the totals.
  struct Scanned {
    SmallVector<ForallSlice> slices;
    Value n, f;
  };
  auto scanSegment = [&](ImplicitLocOpBuilder &fb, Value outCounts,
                         Value outFracs, Value bi, Value hi, Value lo,
                         Value len, Value n0, Value f0) {
    auto segOf = [&](Value t) {
      return extractRow(fb, t, {bi, hi, lo},
                        {fb.getIndexAttr(1), fb.getIndexAttr(1), len});
    };
    SmallVector<Value> inits = {segOf(outCounts), n0};
    if (sums)
      inits.append({segOf(outFracs), f0});
    SmallVector<Value> res = forLoop(
        fb, zero, len, inits,
        [&](ImplicitLocOpBuilder &pb, Value c, ValueRange a) {
          Value n = idx(pb, ext(pb, a[0], {c}));
          SmallVector<Value> next = {
              tensor::InsertOp::create(pb, i32(pb, a[1]), a[0],
                                       ValueRange{c}),
              add(pb, a[1], n)};
          if (sums) {
            Value f = ext(pb, a[2], {c});
            next.push_back(
                tensor::InsertOp::create(pb, a[3], a[2], ValueRange{c}));
            next.push_back(arith::AddFOp::create(pb, a[3], f));
          }
          return next;
        });
    auto sliceOf = [&](Value src) {
      ForallSlice sl;
      sl.source = src;
      sl.offsets = {bi, hi, lo};
      sl.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1), len};
      return sl;
    };
    Scanned out{{sliceOf(res[0])}, res[1], sums ? res[3] : Value()};
    if (sums)
      out.slices.push_back(sliceOf(res[2]));
    return out;
  };

  // One level: zeros (and sums) before every position, then the stable
  // partition of `seq` into `next`.
  auto level = [&](ImplicitLocOpBuilder &lb, Value l, State s) {
    Value bit = sub(lb, sub(lb, r.levels, one), l);
    auto isZero = [&](ImplicitLocOpBuilder &xb, Value v) {
      return arith::XOrIOp::create(xb, bitSet(xb, v, bit),
                                   arith::ConstantIntOp::create(xb, 1, 1))
          .getResult();
    };
    auto fracOf = [&](ImplicitLocOpBuilder &xb, Value bi, Value hi, Value v) {
      return fracPart(xb, ext(xb, sorted, {bi, hi, v}));
    };
    auto chunkRange = [&](ImplicitLocOpBuilder &xb, Value c) {
      Value lo = arith::MulIOp::create(xb, c, chunk);
      return std::make_pair(lo, minIndex(xb, add(xb, lo, chunk), r.m));
    };
    // (a) Chunk totals.
    SmallVector<Value> totalsInit = {s.cz};
    if (sums)
      totalsInit.push_back(s.cf);
    SmallVector<Value> totals = forallUpdate(
        lb, {nc, r.hsz, r.bsz}, totalsInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value c = iv[0], hi = iv[1], bi = iv[2];
          auto [lo, hiEnd] = chunkRange(fb, c);
          SmallVector<Value> acc = forLoop(
              fb, lo, hiEnd, {zero, constF64(fb, 0)},
              [&](ImplicitLocOpBuilder &pb, Value p, ValueRange a) {
                Value v = idx(pb, ext(pb, s.seq, {bi, hi, p}));
                Value z = isZero(pb, v);
                Value n = sel(pb, z, add(pb, a[0], one), a[0]);
                Value f = a[1];
                if (sums)
                  f = sel(pb, z,
                          arith::AddFOp::create(pb, f, fracOf(pb, bi, hi, v)),
                          f);
                return SmallVector<Value>{n, f};
              });
          return countSlices(fb, acc[0], acc[1], outs[0],
                             sums ? outs[1] : Value(), {bi, hi, c});
        });
    // (b) Exclusive scan over the chunks: super-chunk totals; one thread per
    // row scans those (the row's totals go to position M of this level);
    // each super-chunk then scans its chunks from its offset.
    SmallVector<Value> superInit = {s.sz};
    if (sums)
      superInit.push_back(s.sf);
    SmallVector<Value> supers = forallUpdate(
        lb, {ns, r.hsz, r.bsz}, superInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value c2 = iv[0], hi = iv[1], bi = iv[2];
          Value lo = arith::MulIOp::create(fb, c2, superSize);
          SmallVector<Value> t =
              totalOf(fb, totals[0], sums ? totals[1] : Value(), bi, hi, lo,
                      minIndex(fb, add(fb, lo, superSize), nc));
          return countSlices(fb, t[0], t[1], outs[0], sums ? outs[1] : Value(),
                             {bi, hi, c2});
        });
    SmallVector<Value> rowInit = supers;
    rowInit.push_back(s.zb);
    if (sums)
      rowInit.push_back(s.fz);
    SmallVector<Value> rowScanned = forallUpdate(
        lb, {r.hsz, r.bsz}, rowInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value hi = iv[0], bi = iv[1];
          Scanned sc = scanSegment(fb, outs[0], sums ? outs[1] : Value(), bi,
                                   hi, zero, ns, zero, constF64(fb, 0));
          SmallVector<ForallSlice> out = sc.slices;
          out.append(countSlices(fb, sc.n, sc.f, outs[sums ? 2 : 1],
                                 sums ? outs[3] : Value(), {l, bi, hi, r.m}));
          return out;
        });
    Value szo = rowScanned[0];
    Value sfo = sums ? rowScanned[1] : Value();
    SmallVector<Value> chunkInit = {totals[0]};
    if (sums)
      chunkInit.push_back(totals[1]);
    SmallVector<Value> chunkScanned = forallUpdate(
        lb, {ns, r.hsz, r.bsz}, chunkInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value c2 = iv[0], hi = iv[1], bi = iv[2];
          Value lo = arith::MulIOp::create(fb, c2, superSize);
          Value len = sub(fb, minIndex(fb, add(fb, lo, superSize), nc), lo);
          return scanSegment(fb, outs[0], sums ? outs[1] : Value(), bi, hi,
                             lo, len, idx(fb, ext(fb, szo, {bi, hi, c2})),
                             sums ? ext(fb, sfo, {bi, hi, c2})
                                  : constF64(fb, 0))
              .slices;
        });
    SmallVector<Value> scanned = chunkScanned;
    scanned.push_back(rowScanned[sums ? 2 : 1]);
    if (sums)
      scanned.push_back(rowScanned[3]);
    Value czo = scanned[0];
    Value cfo = sums ? scanned[1] : Value();
    Value zbNow = scanned[sums ? 2 : 1];
    Value fzNow = sums ? scanned[3] : Value();
    // (c) Each chunk's positions: zeros (and sums) before each.
    SmallVector<Value> rewriteInit = {zbNow};
    if (sums)
      rewriteInit.push_back(fzNow);
    SmallVector<Value> rewritten = forallUpdate(
        lb, {nc, r.hsz, r.bsz}, rewriteInit,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, ValueRange outs) {
          Value c = iv[0], hi = iv[1], bi = iv[2];
          auto [lo, hiEnd] = chunkRange(fb, c);
          Value len = sub(fb, hiEnd, lo);
          auto segOf = [&](Value t) {
            return extractRow(fb, t, {l, bi, hi, lo},
                              {fb.getIndexAttr(1), fb.getIndexAttr(1),
                               fb.getIndexAttr(1), len});
          };
          SmallVector<Value> inits = {segOf(outs[0]),
                                      idx(fb, ext(fb, czo, {bi, hi, c}))};
          if (sums)
            inits.append({segOf(outs[1]), ext(fb, cfo, {bi, hi, c})});
          SmallVector<Value> res = forLoop(
              fb, zero, len, inits,
              [&](ImplicitLocOpBuilder &pb, Value e, ValueRange a) {
                Value v = idx(pb, ext(pb, s.seq, {bi, hi, add(pb, lo, e)}));
                Value z = isZero(pb, v);
                SmallVector<Value> next = {
                    tensor::InsertOp::create(pb, i32(pb, a[1]), a[0],
                                             ValueRange{e}),
                    sel(pb, z, add(pb, a[1], one), a[1])};
                if (sums) {
                  next.push_back(
                      tensor::InsertOp::create(pb, a[3], a[2], ValueRange{e}));
                  next.push_back(sel(
                      pb, z,
                      arith::AddFOp::create(pb, a[3], fracOf(pb, bi, hi, v)),
                      a[3]));
                }
                return next;
              });
          auto segSlice = [&](Value src) {
            ForallSlice sl;
            sl.source = src;
            sl.offsets = {l, bi, hi, lo};
            sl.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1),
                        fb.getIndexAttr(1), len};
            return sl;
          };
          SmallVector<ForallSlice> out = {segSlice(res[0])};
          if (sums)
            out.push_back(segSlice(res[2]));
          return out;
        });
    // (d) The stable partition: zeros first, then ones, each in order.
    Value zbDone = rewritten[0];
    Value next = forallUpdate1(
        lb, {r.m, r.hsz, r.bsz}, s.next,
        [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
          Value p = iv[0], hi = iv[1], bi = iv[2];
          Value v32 = ext(fb, s.seq, {bi, hi, p});
          Value zBefore = idx(fb, ext(fb, zbDone, {l, bi, hi, p}));
          Value zTotal = idx(fb, ext(fb, zbDone, {l, bi, hi, r.m}));
          Value dest = sel(fb, isZero(fb, idx(fb, v32)), zBefore,
                           add(fb, zTotal, sub(fb, p, zBefore)));
          return scalarSlice(fb, v32, out, {bi, hi, dest});
        });
    State n{next, s.seq, zbDone, sums ? rewritten[1] : Value(), czo, cfo,
            szo, sfo};
    return n;
  };

  Value two = constIndex(b, 2);
  State init{seq, scratchTensor(b, {dyn, dyn, dyn}, {r.bsz, r.hsz, r.m}, i32t),
             zb, fz, cz, cf, sz, sf};
  SmallVector<Value> res = forLoop(
      b, zero, arith::DivUIOp::create(b, r.levels, two), pack(init),
      [&](ImplicitLocOpBuilder &lb, Value q, ValueRange it) {
        Value l = arith::MulIOp::create(lb, q, two);
        State s = level(lb, l, unpack(it));
        s = level(lb, add(lb, l, one), s);
        return pack(s);
      });
  State done = unpack(res);
  return {done.zb, done.fz, r.levels, r.m};
}

/// Count (and fractional sum) of the values below `bound` among positions
/// [0, c) of a row of a wavelet matrix.
std::pair<Value, Value> countBelow(ImplicitLocOpBuilder &b, const Wavelet &w,
                                   Value bi, Value hi, Value bound, Value c) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  SmallVector<Value> res = forLoop(
      b, zero, w.levels, {zero, c, zero, constF64(b, 0)},
      [&](ImplicitLocOpBuilder &lb, Value l, ValueRange a) {
        Value s = a[0], e = a[1];
        Value bit = sub(lb, sub(lb, w.levels, one), l);
        Value right = bitSet(lb, bound, bit);
        Value zs = idx(lb, ext(lb, w.zb, {l, bi, hi, s}));
        Value ze = idx(lb, ext(lb, w.zb, {l, bi, hi, e}));
        Value zt = idx(lb, ext(lb, w.zb, {l, bi, hi, w.m}));
        Value cnt = sel(lb, right, add(lb, a[2], sub(lb, ze, zs)), a[2]);
        Value sum = a[3];
        if (w.fz) {
          Value fs = ext(lb, w.fz, {l, bi, hi, s});
          Value fe = ext(lb, w.fz, {l, bi, hi, e});
          sum = sel(lb, right,
                    arith::AddFOp::create(lb, sum,
                                          arith::SubFOp::create(lb, fe, fs)),
                    sum);
        }
        return SmallVector<Value>{
            sel(lb, right, add(lb, zt, sub(lb, s, zs)), zs),
            sel(lb, right, add(lb, zt, sub(lb, e, ze)), ze), cnt, sum};
      });
  return {res[2], res[3]};
}

/// The kk-th smallest value (kk >= 1, at most e - s) among positions
/// [s, e) of a row of a wavelet matrix.
Value quantile(ImplicitLocOpBuilder &b, const Wavelet &w, Value bi, Value hi,
               Value kk, Value s, Value e) {
  Value zero = constIndex(b, 0), one = constIndex(b, 1);
  return forLoop(
      b, zero, w.levels, {s, e, kk, zero},
      [&](ImplicitLocOpBuilder &lb, Value l, ValueRange a) {
        Value bit = sub(lb, sub(lb, w.levels, one), l);
        Value zs = idx(lb, ext(lb, w.zb, {l, bi, hi, a[0]}));
        Value ze = idx(lb, ext(lb, w.zb, {l, bi, hi, a[1]}));
        Value zt = idx(lb, ext(lb, w.zb, {l, bi, hi, w.m}));
        Value z = sub(lb, ze, zs);
        Value left = cmpi(lb, P::sle, a[2], z);
        return SmallVector<Value>{
            sel(lb, left, zs, add(lb, zt, sub(lb, a[0], zs))),
            sel(lb, left, ze, add(lb, zt, sub(lb, a[1], ze))),
            sel(lb, left, a[2], sub(lb, a[2], z)),
            sel(lb, left, a[3], arith::OrIOp::create(lb, a[3], shl(lb, one, bit)))};
      })[3];
}

//===----------------------------------------------------------------------===//
// 3. One query's threshold (the reference's PrefixThreshold, per query)
//===----------------------------------------------------------------------===//

class QueryThreshold {
public:
  QueryThreshold(ImplicitLocOpBuilder &b, const Ranks &rk, const Wavelet &w,
                 Value bi, Value hi, Value c)
      : b(b), rk(rk), w(w), bi(bi), hi(hi), c(c), zero(constIndex(b, 0)),
        one(constIndex(b, 1)), iters(add(b, w.levels, constIndex(b, 1))) {}

  /// tau of the prefix [0, c) for k (f64).
  Value tau(int64_t k) {
    Value negInfEnd = upperZ(constF64(b, -kInf));
    Value posInfBegin = lowerZ(constF64(b, kInf));
    Value above = sub(b, c, below(negInfEnd).first);
    Value kIdx = constIndex(b, k);
    Type f64t = b.getF64Type();
    return ifElse(
        b, cmpi(b, P::sle, above, kIdx), {f64t},
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{constF64(b, -kInf)};
        },
        [&](ImplicitLocOpBuilder &) {
          Value posInf = sub(b, c, below(posInfBegin).first);
          return ifElse(
              b, cmpi(b, P::sgt, posInf, kIdx), {f64t},
              [&](ImplicitLocOpBuilder &) {
                return SmallVector<Value>{constF64(b, kInf)};
              },
              [&](ImplicitLocOpBuilder &) {
                return SmallVector<Value>{
                    finiteTau(static_cast<double>(k), negInfEnd, posInfBegin)};
              });
        })[0];
  }

private:
  Value z(Value r) { return ext(b, rk.sorted, {bi, hi, r}); }
  Value zm1(Value r) {
    return arith::SubFOp::create(b, z(r), constF64(b, 1));
  }
  Value search(Value lo, Value hi_, function_ref<Value(Value)> goRight) {
    return partitionPoint(b, lo, hi_, iters,
                          [&](ImplicitLocOpBuilder &, Value mid) {
                            return goRight(mid);
                          });
  }
  Value lowerZ(Value t) {
    return search(zero, w.m, [&](Value r) { return cmpf(b, FP::OLT, z(r), t); });
  }
  Value upperZ(Value t) {
    return search(zero, w.m, [&](Value r) { return cmpf(b, FP::OLE, z(r), t); });
  }
  Value lowerZm1(Value t) {
    return search(zero, w.m,
                  [&](Value r) { return cmpf(b, FP::OLT, zm1(r), t); });
  }
  /// Entries of the prefix with rank below r: count, fractional sum.
  std::pair<Value, Value> below(Value r) {
    return countBelow(b, w, bi, hi, r, c);
  }
  /// f(t) when ranks >= capLo are capped and ranks in [midLo, capLo)
  /// fractional (floor(z) = F or F + 1 for F = floor(t)):
  ///   capped + #{frac : z >= F + 1} + sum r(z) + #frac (F - t),
  /// or just capped without fractional entries. Also returns #frac.
  std::pair<Value, Value> linear(Value capLo, Value midLo, Value floorT,
                                 Value t) {
    midLo = minIndex(b, midLo, capLo);
    auto [cCap, sCap] = below(capLo);
    auto [cMid, sMid] = below(midLo);
    Value frac = sub(b, cCap, cMid);
    Value none = cmpi(b, P::eq, frac, zero);
    // The first fractional rank with z - F >= 1.
    Value split = search(midLo, capLo, [&](Value r) {
      Value geq = cmpf(b, FP::OGE, arith::SubFOp::create(b, z(r), floorT),
                       constF64(b, 1));
      return arith::XOrIOp::create(b, geq,
                                   arith::ConstantIntOp::create(b, 1, 1))
          .getResult();
    });
    Value cSplit = below(split).first;
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
  /// f(t): capped are z - 1 >= t (with z > t), fractional z > t.
  Value eval(Value t) {
    Value above = upperZ(t);
    return linear(maxIndex(b, lowerZm1(t), above), above,
                  math::FloorOp::create(b, t), t)
        .first;
  }

  Value finiteTau(double k, Value negInfEnd, Value posInfBegin) {
    Value kk = constF64(b, k), inf = constF64(b, kInf);
    // The first breakpoint of each family with f <= k.
    Value rz = search(negInfEnd, posInfBegin, [&](Value r) {
      return cmpf(b, FP::OGT, eval(z(r)), kk);
    });
    Value rzm = search(negInfEnd, posInfBegin, [&](Value r) {
      return cmpf(b, FP::OGT, eval(zm1(r)), kk);
    });
    auto valueAt = [&](Value r, bool minusOne) {
      Value safe = minIndex(b, r, sub(b, posInfBegin, one));
      return sel(b, cmpi(b, P::slt, r, posInfBegin),
                 minusOne ? zm1(safe) : z(safe), inf);
    };
    Value hiT = arith::MinimumFOp::create(b, valueAt(rz, false),
                                          valueAt(rzm, true));
    // None (cannot happen with at most k entries of +inf): the largest
    // finite breakpoint.
    hiT = sel(b, cmpf(b, FP::OEQ, hiT, inf), z(sub(b, posInfBegin, one)), hiT);
    // The breakpoint just below hiT.
    auto before = [&](Value r, bool minusOne) {
      Value safe = maxIndex(b, sub(b, r, one), zero);
      return sel(b, cmpi(b, P::sgt, r, negInfEnd),
                 minusOne ? zm1(safe) : z(safe), constF64(b, -kInf));
    };
    Value loT = arith::MaximumFOp::create(b, before(lowerZ(hiT), false),
                                          before(lowerZm1(hiT), true));
    Value first = cmpf(b, FP::OEQ, loT, constF64(b, -kInf));
    Value exact = cmpf(b, FP::OEQ, eval(hiT), kk);
    Type f64t = b.getF64Type();
    return ifElse(
        b, arith::OrIOp::create(b, first, exact), {f64t},
        [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{hiT}; },
        [&](ImplicitLocOpBuilder &) {
          // f is linear on (loT, hiT]: capped are z - 1 >= hiT (z >= hiT),
          // fractional z >= hiT and not capped. Solve f(t) = k there.
          Value atOrAbove = lowerZ(hiT);
          Value capLo = maxIndex(b, lowerZm1(hiT), atOrAbove);
          Value floorT = math::FloorOp::create(b, hiT);
          auto [fAtFloor, frac] = linear(capLo, atOrAbove, floorT, floorT);
          Value excess = arith::SubFOp::create(b, fAtFloor, kk);
          Value t = arith::AddFOp::create(
              b, floorT, arith::DivFOp::create(b, excess, f64(b, frac)));
          t = arith::MinimumFOp::create(b, arith::MaximumFOp::create(b, t, loT),
                                        hiT);
          return SmallVector<Value>{
              sel(b, cmpi(b, P::eq, frac, zero), hiT, t)};
        })[0];
  }

  /// Every region's builder (forLoop, ifElse and partitionPoint build their
  /// bodies with the builder they are given).
  ImplicitLocOpBuilder &b;
  const Ranks &rk;
  const Wavelet &w;
  Value bi, hi, c, zero, one, iters;
};

/// Everything the per-query kernels read: ranks and W1.
struct RowSelection {
  Rows rows;
  Ranks ranks;
  Wavelet w1;
};

RowSelection buildRowSelection(ImplicitLocOpBuilder &b, Value u) {
  RowSelection s;
  s.rows = rowsOf(b, u);
  s.ranks = buildRanks(b, u, s.rows);
  s.w1 = buildWavelet(b, s.ranks.rank, s.ranks.sorted, s.rows);
  return s;
}

Value buildTausFrom(ImplicitLocOpBuilder &b, const RowSelection &s, int64_t k,
                    int64_t window, Value n, RankedTensorType resultType) {
  const Rows &r = s.rows;
  Value init = emptyTensor(b, resultType.getShape(), {r.bsz, r.hsz, n},
                           b.getF32Type());
  return forallUpdate1(
      b, {n, r.hsz, r.bsz}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value i = iv[0], hi = iv[1], bi = iv[2];
        Value c = candidateCount(fb, i, r.m, n, window);
        QueryThreshold q(fb, s.ranks, s.w1, bi, hi, c);
        Value t = arith::TruncFOp::create(fb, fb.getF32Type(), q.tau(k));
        return scalarSlice(fb, t, out, {bi, hi, i});
      });
}

/// The p-th best candidate (p from 0) of the prefix [0, c), p < c: its key.
Value bestKey(ImplicitLocOpBuilder &b, const RowSelection &s, Value bi,
              Value hi, Value p, Value c) {
  Value rank = quantile(b, s.w1, bi, hi, sub(b, c, p), constIndex(b, 0), c);
  return idx(b, ext(b, s.ranks.order, {bi, hi, rank}));
}

Value buildTopKFrom(ImplicitLocOpBuilder &b, const RowSelection &s, int64_t k,
                    int64_t window, Value n, RankedTensorType resultType) {
  const Rows &r = s.rows;
  Value kIdx = constIndex(b, k);
  Value init = emptyTensor(b, resultType.getShape(), {r.bsz, r.hsz, n, kIdx},
                           b.getI32Type());
  return forallUpdate1(
      b, {arith::MulIOp::create(b, n, kIdx), r.hsz, r.bsz}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value f = iv[0], hi = iv[1], bi = iv[2];
        Value i = arith::DivUIOp::create(fb, f, kIdx);
        Value p = arith::RemUIOp::create(fb, f, kIdx);
        Value c = candidateCount(fb, i, r.m, n, window);
        Value valid = cmpi(fb, P::slt, p, c);
        Value key = ifElse(
            fb, valid, {fb.getI32Type()},
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{
                  i32(fb, bestKey(fb, s, bi, hi, p, c))};
            },
            [&](ImplicitLocOpBuilder &) {
              return SmallVector<Value>{constI32(fb, -1)};
            })[0];
        return scalarSlice(fb, key, out, {bi, hi, i, p});
      });
}

} // namespace

Value buildParallelThresholds(ImplicitLocOpBuilder &b, Value u, int64_t k,
                              int64_t window, Value n,
                              RankedTensorType resultType) {
  return buildTausFrom(b, buildRowSelection(b, u), k, window, n, resultType);
}

Value buildParallelTopK(ImplicitLocOpBuilder &b, Value u, int64_t k,
                        int64_t window, Value n, RankedTensorType resultType) {
  return buildTopKFrom(b, buildRowSelection(b, u), k, window, n, resultType);
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
  Type f32t = b.getF32Type(), i32t = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  RowSelection s = buildRowSelection(b, u);
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
    Value arrive = maxIndex(
        xb, sub(xb, add(xb, j, add(xb, n, constIndex(xb, window))), r.m), zero);
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

  // Union entries: the first query's selection in ascending key order
  // (W2: keys of rank >= its kth rank, smallest first), then the selected
  // newcomers in order, then -1.
  Wavelet w2 = buildWavelet(b, s.ranks.order, Value(), r);
  auto unionType = cast<RankedTensorType>(resultTypes[3]);
  Value unionKeys = forallUpdate1(
      b, {arith::MulIOp::create(b, nb, width), r.hsz, r.bsz},
      emptyTensor(b, unionType.getShape(), {r.bsz, r.hsz, nb, width}, i32t),
      [&](ImplicitLocOpBuilder &fb, ValueRange iv, Value out) {
        Value f = iv[0], hi = iv[1], bi = iv[2];
        Value blk = arith::DivUIOp::create(fb, f, width);
        Value e = arith::RemUIOp::create(fb, f, width);
        Block bl = blockOf(fb, blk);
        Value key = ifElse(
            fb, cmpi(fb, P::slt, e, bl.nFirst), {i32t},
            [&](ImplicitLocOpBuilder &) {
              Value i0 = arith::MulIOp::create(fb, blk, bq);
              Value r0 = idx(fb, ext(fb, kthRank, {bi, hi, i0}));
              Value all = cmpi(fb, P::sle, bl.c0, kIdx);
              Value safeR0 = maxIndex(fb, r0, zero);
              Value fromW2 = ifElse(
                  fb, all, {fb.getIndexType()},
                  [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{e}; },
                  [&](ImplicitLocOpBuilder &) {
                    return SmallVector<Value>{quantile(
                        fb, w2, bi, hi, add(fb, e, one), safeR0, r.m)};
                  })[0];
              return SmallVector<Value>{i32(fb, fromW2)};
            },
            [&](ImplicitLocOpBuilder &) {
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
              return SmallVector<Value>{found[1]};
            })[0];
        return scalarSlice(fb, key, out, {bi, hi, blk, e});
      });
  auto countType = cast<RankedTensorType>(resultTypes[4]);
  Value unionCount = forallUpdate1(
      b, {nb, r.hsz, r.bsz},
      emptyTensor(b, countType.getShape(), {r.bsz, r.hsz, nb}, i32t),
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
