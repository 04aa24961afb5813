//===- Selection.cpp - sparsek.threshold and sparsek.topk -------*- C++ -*-===//
//
// Both run one sequential sweep per (batch, head) row inside an scf.forall
// over rows. Query i's candidates are the prefix C_i = [0, c_i) with
// c_i = clamp(i + M - N - window + 1, 0, M), which only grows.
//
// Thresholds (SPEC 3): for t >= the current tau every candidate is capped
// (u - 1 >= t), fractional (t < u < t + 1) or dead (u <= t; dead for good,
// since tau never decreases). Capped and fractional keys sit in two min-heaps
// and f(t) = #capped + sum_frac (u - t). After inserting a query's new
// candidates, t sweeps upwards from the previous tau over the breakpoints
// (smallest capped key - 1, smallest fractional key), moving one key
// capped -> fractional or fractional -> dead per breakpoint, until f
// crosses k inside a segment, where f is linear. Every key moves at most
// twice, so a row costs O(M log M).
//
// Exact for any scores: the fractional sum is kept as D = sum_frac (u - A)
// around the anchor A = floor(t), re-anchored whenever t moves (fractional
// keys lie in (t, t + 1), so the anchor moves by 0 or 1 while any is there,
// and D is reset to 0 when none is). A plain running sum of the keys would
// lose 0.5 after 1e30 and -1e30 passed through it. f(t) = #capped + D -
// #frac * (t - A), in f64.
//
// Top-k (SPEC 4): a k-sized min-heap over (score, index) keeps the best
// candidates so far (equal scores: the older index is evicted first); each
// query's row is the heap drained into descending order, padded with -1.
// O(M log k + N k log k) per row.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::sparsek::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Value extractU(ImplicitLocOpBuilder &b, Value u, Value bi, Value hi,
               Value j) {
  return tensor::ExtractOp::create(b, u, ValueRange{bi, hi, j});
}

Value indexToI32(ImplicitLocOpBuilder &b, Value v) {
  return arith::IndexCastOp::create(b, b.getI32Type(), v);
}

Value indexToF64(ImplicitLocOpBuilder &b, Value v) {
  return arith::SIToFPOp::create(
      b, b.getF64Type(), arith::IndexCastOp::create(b, b.getI64Type(), v));
}

Value isZero(ImplicitLocOpBuilder &b, Value size) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, size,
                               constIndex(b, 0));
}

/// f(t) = #capped + D - #frac * (t - A), as f64 (0 fractional keys: just
/// #capped, also at t = -inf).
Value evalF(ImplicitLocOpBuilder &b, const Sweep &s, Value t) {
  Value slope = arith::MulFOp::create(
      b, indexToF64(b, s.mid.size), arith::SubFOp::create(b, t, s.anchor));
  Value frac = arith::SelectOp::create(b, isZero(b, s.mid.size),
                                       constF64(b, 0),
                                       arith::SubFOp::create(b, s.fracSum,
                                                             slope));
  return arith::AddFOp::create(b, indexToF64(b, s.cap.size), frac);
}

/// Moves the anchor to floor(t): D -= #frac * (floor(t) - A), exact since
/// the anchor moves by 0 or 1 while there are fractional keys; D = 0 when
/// there are none.
Sweep reanchor(ImplicitLocOpBuilder &b, Sweep s, Value t) {
  Value a = math::FloorOp::create(b, t);
  Value shifted = arith::SubFOp::create(
      b, s.fracSum,
      arith::MulFOp::create(b, indexToF64(b, s.mid.size),
                            arith::SubFOp::create(b, a, s.anchor)));
  s.fracSum = arith::SelectOp::create(b, isZero(b, s.mid.size),
                                      constF64(b, 0), shifted);
  s.anchor = a;
  return s;
}

/// u - A for a key entering or leaving the fractional heap.
Value offset(ImplicitLocOpBuilder &b, const Sweep &s, Value key32) {
  return arith::SubFOp::create(
      b, arith::ExtFOp::create(b, b.getF64Type(), key32), s.anchor);
}

} // namespace

/// Inserts candidate j (score v) for the current threshold `tau`.
Sweep sweepInsert(ImplicitLocOpBuilder &b, Sweep s, Value tau, Value v32,
                  Value tag) {
  Type f64 = b.getF64Type();
  Value v = arith::ExtFOp::create(b, f64, v32);
  Value live = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, tau);
  SmallVector<Value> out = ifElse(
      b, live, s.types(),
      [&](ImplicitLocOpBuilder &tb) {
        Value vm1 = arith::SubFOp::create(tb, v, constF64(tb, 1));
        Value capped =
            arith::CmpFOp::create(tb, arith::CmpFPredicate::OGE, vm1, tau);
        return ifElse(
            tb, capped, s.types(),
            [&](ImplicitLocOpBuilder &cb) {
              Sweep n = s;
              n.cap = heapPush(cb, s.cap, v32, tag);
              return n.pack();
            },
            [&](ImplicitLocOpBuilder &cb) {
              Sweep n = s;
              n.mid = heapPush(cb, s.mid, v32, tag);
              n.fracSum =
                  arith::AddFOp::create(cb, s.fracSum, offset(cb, s, v32));
              return n.pack();
            });
      },
      [&](ImplicitLocOpBuilder &) { return s.pack(); });
  return Sweep::unpack(out);
}

namespace {

/// The next breakpoint above t: min(smallest capped key - 1, smallest
/// fractional key), +inf when both heaps are empty; and whether the capped
/// key comes first.
std::pair<Value, Value> nextBreakpoint(ImplicitLocOpBuilder &b,
                                       const Sweep &s) {
  Type f64 = b.getF64Type();
  Value zero = constIndex(b, 0), inf = constF64(b, kInf);
  auto top = [&](const Heap &h) {
    Value has =
        arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, h.size, zero);
    Value key = arith::ExtFOp::create(b, f64, heapTop(b, h).first);
    return std::make_pair(has, key);
  };
  auto [hasCap, capKey] = top(s.cap);
  auto [hasMid, midKey] = top(s.mid);
  Value capBp = arith::SelectOp::create(
      b, hasCap, arith::SubFOp::create(b, capKey, constF64(b, 1)), inf);
  Value midBp = arith::SelectOp::create(b, hasMid, midKey, inf);
  Value capFirst = arith::AndIOp::create(
      b, hasCap,
      arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, capBp, midBp));
  return {arith::MinimumFOp::create(b, capBp, midBp), capFirst};
}

/// The smallest t in [t0, bp] with f(t) = k, f linear there (no
/// breakpoint inside): t = A + (#capped + D - k) / #frac, or bp when no key
/// is fractional.
Value solveSegment(ImplicitLocOpBuilder &b, const Sweep &s, Value t0,
                   Value bp, Value kF) {
  Value excess = arith::SubFOp::create(
      b, arith::AddFOp::create(b, indexToF64(b, s.cap.size), s.fracSum), kF);
  Value sol = arith::AddFOp::create(
      b, s.anchor,
      arith::DivFOp::create(b, excess, indexToF64(b, s.mid.size)));
  return arith::SelectOp::create(b, isZero(b, s.mid.size), bp,
                                 arith::MaximumFOp::create(b, t0, sol));
}

/// Moves t to the breakpoint bp and the key that sits there: the smallest
/// capped key becomes fractional, or the smallest fractional key dies.
Sweep crossBreakpoint(ImplicitLocOpBuilder &b, const Sweep &cur, Value bp,
                      Value capFirst) {
  Sweep at = reanchor(b, cur, bp);
  SmallVector<Value> moved = ifElse(
      b, capFirst, at.types(),
      [&](ImplicitLocOpBuilder &cb) {
        auto [key, tag] = heapTop(cb, at.cap);
        Sweep n = at;
        n.cap = heapPop(cb, at.cap);
        n.mid = heapPush(cb, at.mid, key, tag);
        n.fracSum = arith::AddFOp::create(cb, at.fracSum, offset(cb, at, key));
        return n.pack();
      },
      [&](ImplicitLocOpBuilder &cb) {
        auto [key, tag] = heapTop(cb, at.mid);
        Sweep n = at;
        n.mid = heapPop(cb, at.mid);
        n.fracSum = arith::SubFOp::create(cb, at.fracSum, offset(cb, at, key));
        return n.pack();
      });
  return Sweep::unpack(moved);
}

} // namespace

/// Raises t from `tau` to the smallest solution of f(t) = k: crosses
/// breakpoints while f(breakpoint) > k, then solves on the last segment.
std::pair<Sweep, Value> sweepSolve(ImplicitLocOpBuilder &b, Sweep s,
                                   Value tau, int64_t k) {
  Value kF = constF64(b, static_cast<double>(k));
  SmallVector<Value> inits = s.pack();
  inits.push_back(tau);
  inits.push_back(arith::ConstantIntOp::create(b, 0, 1)); // solved
  SmallVector<Type> types = llvm::to_vector(ValueRange(inits).getTypes());
  const unsigned tIdx = Sweep::kSize, solvedIdx = Sweep::kSize + 1;
  auto loop = scf::WhileOp::create(
      b, types, inits,
      [&](OpBuilder &ob, Location loc, ValueRange a) {
        ImplicitLocOpBuilder nb(loc, ob);
        Value above = arith::CmpFOp::create(
            nb, arith::CmpFPredicate::OGT,
            evalF(nb, Sweep::unpack(a), a[tIdx]), kF);
        Value notSolved = arith::XOrIOp::create(
            nb, a[solvedIdx], arith::ConstantIntOp::create(nb, 1, 1));
        scf::ConditionOp::create(nb,
                                 arith::AndIOp::create(nb, above, notSolved),
                                 a);
      },
      [&](OpBuilder &ob, Location loc, ValueRange a) {
        ImplicitLocOpBuilder nb(loc, ob);
        Sweep cur = Sweep::unpack(a);
        std::pair<Value, Value> next0 = nextBreakpoint(nb, cur);
        Value bp = next0.first, capFirst = next0.second;
        Value solveHere = arith::CmpFOp::create(nb, arith::CmpFPredicate::OLE,
                                                evalF(nb, cur, bp), kF);
        SmallVector<Value> next = ifElse(
            nb, solveHere, types,
            [&](ImplicitLocOpBuilder &tb) {
              Value tNew = solveSegment(tb, cur, a[tIdx], bp, kF);
              SmallVector<Value> r = reanchor(tb, cur, tNew).pack();
              r.push_back(tNew);
              r.push_back(arith::ConstantIntOp::create(tb, 1, 1));
              return r;
            },
            [&](ImplicitLocOpBuilder &eb) {
              SmallVector<Value> r =
                  crossBreakpoint(eb, cur, bp, capFirst).pack();
              r.push_back(bp);
              r.push_back(a[solvedIdx]);
              return r;
            });
        scf::YieldOp::create(nb, next);
      });
  return {Sweep::unpack(loop.getResults()), loop.getResult(tIdx)};
}

/// Drops the lowest live score: the smallest fractional key, or the
/// smallest capped key when none is fractional; nothing when both heaps
/// are empty.
Sweep sweepDropLowest(ImplicitLocOpBuilder &b, Sweep s) {
  Value hasMid = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt,
                                       s.mid.size, constIndex(b, 0));
  Value hasCap = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt,
                                       s.cap.size, constIndex(b, 0));
  SmallVector<Value> out = ifElse(
      b, hasMid, s.types(),
      [&](ImplicitLocOpBuilder &mb) {
        Sweep n = s;
        Value key = heapTop(mb, s.mid).first;
        n.mid = heapPop(mb, s.mid);
        n.fracSum = arith::SubFOp::create(mb, s.fracSum, offset(mb, s, key));
        return n.pack();
      },
      [&](ImplicitLocOpBuilder &cb) {
        return ifElse(
            cb, hasCap, s.types(),
            [&](ImplicitLocOpBuilder &pb) {
              Sweep n = s;
              n.cap = heapPop(pb, s.cap);
              return n.pack();
            },
            [&](ImplicitLocOpBuilder &) { return s.pack(); });
      });
  return Sweep::unpack(out);
}

namespace {

/// Splits a result type [B, H, N, ...] into the sizes of its dims.
SmallVector<Value> resultSizes(ImplicitLocOpBuilder &b, Value u, Value n,
                               RankedTensorType resultType) {
  SmallVector<Value> sizes = {dimValue(b, u, 0), dimValue(b, u, 1), n};
  for (int64_t d = 3; d < resultType.getRank(); ++d)
    sizes.push_back(constIndex(b, resultType.getDimSize(d)));
  return sizes;
}

} // namespace

Value buildThresholds(ImplicitLocOpBuilder &b, Value u, int64_t k,
                      int64_t window, Value n, RankedTensorType resultType) {
  Type f32 = b.getF32Type();
  SmallVector<Value> sizes = resultSizes(b, u, n, resultType);
  Value init = emptyTensor(b, resultType.getShape(), sizes, f32);
  Value m = dimValue(b, u, 2);
  return forallInsert(
      b, {sizes[0], sizes[1]}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
        Value bi = ivs[0], hi = ivs[1];
        Sweep s{heapCreate(fb, m), heapCreate(fb, m), constF64(fb, 0),
                constF64(fb, 0)};
        Value row = scratchTensor(fb, {ShapedType::kDynamic}, n, f32);
        SmallVector<Value> inits = s.pack();
        inits.append({constF64(fb, -kInf), constIndex(fb, 0), row});
        const unsigned tauIdx = Sweep::kSize, insertedIdx = Sweep::kSize + 1,
                       rowIdx = Sweep::kSize + 2;
        SmallVector<Value> res = forLoop(
            fb, constIndex(fb, 0), n, inits,
            [&](ImplicitLocOpBuilder &lb, Value i, ValueRange it) {
              Value tau = it[tauIdx], inserted = it[insertedIdx];
              Value c = candidateCount(lb, i, m, n, window);
              SmallVector<Value> grown = forLoop(
                  lb, inserted, c, ValueRange(it).take_front(Sweep::kSize),
                  [&](ImplicitLocOpBuilder &ib, Value j, ValueRange st) {
                    return sweepInsert(ib, Sweep::unpack(st), tau,
                                       extractU(ib, u, bi, hi, j),
                                       indexToI32(ib, j))
                        .pack();
                  });
              auto [solved, t] =
                  sweepSolve(lb, Sweep::unpack(grown), tau, k);
              Value out = tensor::InsertOp::create(
                  lb, arith::TruncFOp::create(lb, f32, t), it[rowIdx],
                  ValueRange{i});
              SmallVector<Value> r = solved.pack();
              r.append({t, maxIndex(lb, inserted, c), out});
              return r;
            });
        ForallSlice slice;
        slice.source = res[rowIdx];
        slice.offsets = {bi, hi, fb.getIndexAttr(0)};
        slice.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1), n};
        return slice;
      });
}

namespace {

SmallVector<Value> packHeap(const Heap &h) { return {h.keys, h.tags, h.size}; }

/// Offers candidate (key, tag) to the k-sized min-heap of the best so far:
/// pushed while the heap is not full, else it replaces the minimum when
/// larger (equal scores: the older index is the smaller pair, evicted).
/// Also returns whether the candidate is in the heap afterwards.
std::pair<Heap, Value> offerCandidate(ImplicitLocOpBuilder &b, Heap cur,
                                      Value key, Value tag, Value kIdx) {
  Value notFull =
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, cur.size, kIdx);
  SmallVector<Value> packed = packHeap(cur);
  SmallVector<Type> types = llvm::to_vector(ValueRange(packed).getTypes());
  types.push_back(b.getI1Type());
  auto with = [](SmallVector<Value> v, Value flag) {
    v.push_back(flag);
    return v;
  };
  SmallVector<Value> r = ifElse(
      b, notFull, types,
      [&](ImplicitLocOpBuilder &tb) {
        return with(packHeap(heapPush(tb, cur, key, tag)),
                    arith::ConstantIntOp::create(tb, 1, 1));
      },
      [&](ImplicitLocOpBuilder &eb) {
        auto [tk, tt] = heapTop(eb, cur);
        return ifElse(
            eb, pairLess(eb, tk, tt, key, tag), types,
            [&](ImplicitLocOpBuilder &rb) {
              return with(packHeap(heapReplaceTop(rb, cur, key, tag)),
                          arith::ConstantIntOp::create(rb, 1, 1));
            },
            [&](ImplicitLocOpBuilder &nb) {
              return with(packed, arith::ConstantIntOp::create(nb, 0, 1));
            });
      });
  return {Heap{r[0], r[1], r[2]}, r[3]};
}

/// Row i of `rows` ([N, k]) from a copy of the heap: ascending pops fill
/// positions size - 1 down to 0 (descending scores, ties: newer first),
/// the rest is -1 padding.
Value writeRow(ImplicitLocOpBuilder &b, const Heap &cur, Value rows, Value i,
               Value kIdx) {
  SmallVector<Value> inits = packHeap(cur);
  inits.push_back(rows);
  SmallVector<Value> drained = forLoop(
      b, constIndex(b, 0), cur.size, inits,
      [&](ImplicitLocOpBuilder &db, Value s, ValueRange st) {
        Heap dh{st[0], st[1], st[2]};
        Value tag = heapTop(db, dh).second;
        Value pos = arith::SubIOp::create(
            db, arith::SubIOp::create(db, cur.size, s), constIndex(db, 1));
        Value row =
            tensor::InsertOp::create(db, tag, st[3], ValueRange{i, pos});
        SmallVector<Value> r = packHeap(heapPop(db, dh));
        r.push_back(row);
        return r;
      });
  return forLoop(b, cur.size, kIdx, {drained[3]},
                 [&](ImplicitLocOpBuilder &pb, Value e, ValueRange st) {
                   return SmallVector<Value>{tensor::InsertOp::create(
                       pb, constI32(pb, -1), st[0], ValueRange{i, e})};
                 })[0];
}

} // namespace

Value buildTopK(ImplicitLocOpBuilder &b, Value u, int64_t k, int64_t window,
                Value n, RankedTensorType resultType) {
  Type i32 = b.getI32Type();
  SmallVector<Value> sizes = resultSizes(b, u, n, resultType);
  sizes[3] = constIndex(b, k);
  Value init = emptyTensor(b, resultType.getShape(), sizes, i32);
  Value m = dimValue(b, u, 2);
  Value kIdx = constIndex(b, k);
  return forallInsert(
      b, {sizes[0], sizes[1]}, init,
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
        Value bi = ivs[0], hi = ivs[1];
        Value rows = scratchTensor(
            fb, {ShapedType::kDynamic, ShapedType::kDynamic}, {n, kIdx}, i32);
        // Per query: offer its new candidates, then write its row.
        SmallVector<Value> inits = packHeap(heapCreate(fb, kIdx));
        inits.append({constIndex(fb, 0), rows});
        SmallVector<Value> res = forLoop(
            fb, constIndex(fb, 0), n, inits,
            [&](ImplicitLocOpBuilder &lb, Value i, ValueRange it) {
              Value c = candidateCount(lb, i, m, n, window);
              SmallVector<Value> grown = forLoop(
                  lb, it[3], c, it.take_front(3),
                  [&](ImplicitLocOpBuilder &ib, Value j, ValueRange hs) {
                    return packHeap(offerCandidate(
                                        ib, Heap{hs[0], hs[1], hs[2]},
                                        extractU(ib, u, bi, hi, j),
                                        indexToI32(ib, j), kIdx)
                                        .first);
                  });
              Heap cur{grown[0], grown[1], grown[2]};
              SmallVector<Value> r = packHeap(cur);
              r.append({maxIndex(lb, it[3], c),
                        writeRow(lb, cur, it[4], i, kIdx)});
              return r;
            });
        ForallSlice slice;
        slice.source = res[4];
        slice.offsets = {bi, hi, fb.getIndexAttr(0), fb.getIndexAttr(0)};
        slice.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1), n, kIdx};
        return slice;
      });
}

std::pair<Value, Value> buildSelection(ImplicitLocOpBuilder &b, Value u,
                                       int64_t k, int64_t window, Value n,
                                       int64_t nStatic, bool parallel) {
  auto uType = cast<RankedTensorType>(u.getType());
  auto tauType = RankedTensorType::get(
      {uType.getDimSize(0), uType.getDimSize(1), nStatic}, b.getF32Type());
  auto idxType = RankedTensorType::get(
      {uType.getDimSize(0), uType.getDimSize(1), nStatic, k}, b.getI32Type());
  if (parallel)
    return buildParallelSelection(b, u, k, window, n, tauType, idxType);
  return {buildThresholds(b, u, k, window, n, tauType),
          buildTopK(b, u, k, window, n, idxType)};
}

namespace {

/// Writes the tags of `h` (any heap) into row `r` of `rows` ([NB, W]) at
/// [0, size) in ascending order, through a second heap ordered by tag.
Value writeSortedTags(ImplicitLocOpBuilder &b, const Heap &h, Value rows,
                      Value r, Value kIdx) {
  Heap byTag = heapCreate(b, kIdx);
  SmallVector<Value> filled = forLoop(
      b, constIndex(b, 0), h.size, packHeap(byTag),
      [&](ImplicitLocOpBuilder &lb, Value e, ValueRange st) {
        Value tag = tensor::ExtractOp::create(lb, h.tags, ValueRange{e});
        return packHeap(
            heapPush(lb, Heap{st[0], st[1], st[2]}, constF32(lb, 0), tag));
      });
  SmallVector<Value> inits = filled;
  inits.push_back(rows);
  return forLoop(b, constIndex(b, 0), h.size, inits,
                 [&](ImplicitLocOpBuilder &lb, Value e, ValueRange st) {
                   Heap cur{st[0], st[1], st[2]};
                   Value tag = heapTop(lb, cur).second;
                   Value out = tensor::InsertOp::create(lb, tag, st[3],
                                                        ValueRange{r, e});
                   SmallVector<Value> next = packHeap(heapPop(lb, cur));
                   next.push_back(out);
                   return next;
                 })[3];
}

} // namespace

SmallVector<Value> buildBlockSelect(ImplicitLocOpBuilder &b, Value u,
                                    int64_t k, int64_t window,
                                    int64_t blockSize, Value n,
                                    TypeRange resultTypes) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto rowType = cast<RankedTensorType>(resultTypes[0]);
  SmallVector<Value> rowSizes = resultSizes(b, u, n, rowType);
  Value m = dimValue(b, u, 2);
  Value kIdx = constIndex(b, k), bq = constIndex(b, blockSize);
  Value width = constIndex(b, k + blockSize - 1);
  Value nb = arith::CeilDivUIOp::create(b, n, bq);
  Value tau = buildThresholds(b, u, k, window, n,
                              cast<RankedTensorType>(resultTypes[2]));
  double inf = std::numeric_limits<double>::infinity();

  // One sweep per row computes its row of the four per-row results (kth
  // score, kth index, union rows, union counts: state 4..7).
  auto sweep = [&](ImplicitLocOpBuilder &fb, Value bi, Value hi) {
    Value kthS = scratchTensor(fb, {ShapedType::kDynamic}, n, f32);
    Value kthI = scratchTensor(fb, {ShapedType::kDynamic}, n, i32);
    Value unionRows = linalg::FillOp::create(
                          fb, ValueRange{constI32(fb, -1)},
                          ValueRange{scratchTensor(
                              fb, {ShapedType::kDynamic, ShapedType::kDynamic},
                              {nb, width}, i32)})
                          .getResult(0);
    Value counts = scratchTensor(fb, {ShapedType::kDynamic}, nb, i32);
    SmallVector<Value> inits = packHeap(heapCreate(fb, kIdx));
    inits.append({constIndex(fb, 0), kthS, kthI, unionRows, counts,
                  constIndex(fb, 0)});
    return forLoop(
        fb, constIndex(fb, 0), n, inits,
        [&](ImplicitLocOpBuilder &lb, Value i, ValueRange it) {
          // Offer the query's new candidates (after the row's first query,
          // at most one), remembering whether the last one was kept.
          Value c = candidateCount(lb, i, m, n, window);
          SmallVector<Value> grownInit(it.take_front(3));
          grownInit.push_back(arith::ConstantIntOp::create(lb, 0, 1));
          grownInit.push_back(constI32(lb, -1));
          SmallVector<Value> grown = forLoop(
              lb, it[3], c, grownInit,
              [&](ImplicitLocOpBuilder &ib, Value j, ValueRange hs) {
                Value tag = indexToI32(ib, j);
                auto [h, kept] =
                    offerCandidate(ib, Heap{hs[0], hs[1], hs[2]},
                                   extractU(ib, u, bi, hi, j), tag, kIdx);
                SmallVector<Value> r = packHeap(h);
                r.append({kept, tag});
                return r;
              });
          Heap cur{grown[0], grown[1], grown[2]};
          Value kept = grown[3], newTag = grown[4];
          // kth: the heap's minimum once it holds k candidates.
          Value full = arith::CmpIOp::create(lb, arith::CmpIPredicate::eq,
                                             cur.size, kIdx);
          auto [topKey, topTag] = heapTop(lb, cur);
          Value ks = arith::SelectOp::create(lb, full, topKey,
                                             constF32(lb, -inf));
          Value ki = arith::SelectOp::create(lb, full, topTag, constI32(lb, -1));
          Value kthS2 = tensor::InsertOp::create(lb, ks, it[4], ValueRange{i});
          Value kthI2 = tensor::InsertOp::create(lb, ki, it[5], ValueRange{i});
          // The block's union: S of its first query (ascending), then each
          // later query's newcomer when kept (larger than every key before).
          Value blk = arith::DivUIOp::create(lb, i, bq);
          Value first = arith::CmpIOp::create(
              lb, arith::CmpIPredicate::eq, arith::RemUIOp::create(lb, i, bq),
              constIndex(lb, 0));
          Value newHere = arith::CmpIOp::create(lb, arith::CmpIPredicate::sgt,
                                                c, it[3]);
          SmallVector<Type> ut = {it[6].getType(), lb.getIndexType()};
          SmallVector<Value> un = ifElse(
              lb, first, ut,
              [&](ImplicitLocOpBuilder &tb) {
                return SmallVector<Value>{
                    writeSortedTags(tb, cur, it[6], blk, kIdx), cur.size};
              },
              [&](ImplicitLocOpBuilder &eb) {
                Value add = arith::AndIOp::create(eb, newHere, kept);
                return ifElse(
                    eb, add, ut,
                    [&](ImplicitLocOpBuilder &ab) {
                      Value rows = tensor::InsertOp::create(
                          ab, newTag, it[6], ValueRange{blk, it[8]});
                      return SmallVector<Value>{
                          rows, arith::AddIOp::create(ab, it[8],
                                                      constIndex(ab, 1))};
                    },
                    [&](ImplicitLocOpBuilder &) {
                      return SmallVector<Value>{it[6], it[8]};
                    });
              });
          Value counts2 = tensor::InsertOp::create(
              lb, arith::IndexCastOp::create(lb, lb.getI32Type(), un[1]),
              it[7], ValueRange{blk});
          SmallVector<Value> r = packHeap(cur);
          r.append({maxIndex(lb, it[3], c), kthS2, kthI2, un[0], counts2,
                    un[1]});
          return r;
        });
  };

  // One forall over rows; each iteration runs the sweep once and inserts
  // its row of all four per-row results (the thresholds come from their
  // own sweep above).
  auto rowInit = [&](unsigned resultIdx) {
    auto type = cast<RankedTensorType>(resultTypes[resultIdx]);
    SmallVector<Value> sizes = {rowSizes[0], rowSizes[1]};
    if (resultIdx == 3)
      sizes.append({nb, width});
    else
      sizes.push_back(resultIdx == 4 ? nb : n);
    return emptyTensor(b, type.getShape(), sizes, type.getElementType());
  };
  SmallVector<Value> rowResults = forallInsertMulti(
      b, {rowSizes[0], rowSizes[1]},
      {rowInit(0), rowInit(1), rowInit(3), rowInit(4)},
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs) {
        SmallVector<Value> st = sweep(fb, ivs[0], ivs[1]);
        auto slice = [&](Value source, OpFoldResult len, bool twoD) {
          ForallSlice s;
          s.source = source;
          s.offsets = {ivs[0], ivs[1], fb.getIndexAttr(0)};
          s.sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1), len};
          if (twoD) {
            s.offsets.push_back(fb.getIndexAttr(0));
            s.sizes.push_back(width);
          }
          return s;
        };
        return SmallVector<ForallSlice>{
            slice(st[4], n, false), slice(st[5], n, false),
            slice(st[6], nb, true), slice(st[7], nb, false)};
      });
  return {rowResults[0], rowResults[1], tau, rowResults[2], rowResults[3]};
}

std::optional<SmallVector<Value>>
buildSelectionOp(ImplicitLocOpBuilder &b, Operation *op, bool parallel,
                 const SelectionKernels *kernels) {
  auto t = cast<RankedTensorType>(op->getResult(0).getType());
  if (auto bs = dyn_cast<BlockSelectOp>(op)) {
    // N from the result types, or the `queries` operand when dynamic (the
    // verifier requires it then).
    if (t.isDynamicDim(2) && !bs.getQueries())
      return std::nullopt;
    Value n = t.isDynamicDim(2) ? clampedQueries(b, bs)
                                : constIndex(b, t.getDimSize(2));
    int64_t k = bs.getK(), window = bs.getWindow(),
            blockSize = bs.getBlockSize();
    if (parallel)
      return buildParallelBlockSelectWith(b, bs.getU(), k, window, blockSize,
                                          n, op->getResultTypes(), kernels);
    return buildBlockSelect(b, bs.getU(), k, window, blockSize, n,
                            op->getResultTypes());
  }
  // threshold and topk: only the result type knows N.
  if (t.isDynamicDim(2))
    return std::nullopt;
  Value n = constIndex(b, t.getDimSize(2));
  if (auto th = dyn_cast<ThresholdOp>(op)) {
    if (parallel)
      return SmallVector<Value>{buildParallelThresholdsWith(
          b, th.getU(), th.getK(), th.getWindow(), n, t, kernels)};
    return SmallVector<Value>{
        buildThresholds(b, th.getU(), th.getK(), th.getWindow(), n, t)};
  }
  auto tk = cast<TopKOp>(op);
  if (parallel)
    return SmallVector<Value>{buildParallelTopKWith(
        b, tk.getU(), tk.getK(), tk.getWindow(), n, t, kernels)};
  return SmallVector<Value>{
      buildTopK(b, tk.getU(), tk.getK(), tk.getWindow(), n, t)};
}

namespace {

/// threshold, topk and block_select (buildSelectionOp).
template <typename OpTy>
struct SelectionToLinalg : OpRewritePattern<OpTy> {
  SelectionToLinalg(MLIRContext *ctx, bool useParallel)
      : OpRewritePattern<OpTy>(ctx), useParallel(useParallel) {}
  bool useParallel;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    std::optional<SmallVector<Value>> results =
        buildSelectionOp(b, op, useParallel, /*kernels=*/nullptr);
    if (!results)
      return rewriter.notifyMatchFailure(op, "dynamic query length N");
    rewriter.replaceOp(op, *results);
    return success();
  }
};

} // namespace

void populateSelectionPatterns(RewritePatternSet &patterns,
                               bool parallelSelection) {
  patterns.add<SelectionToLinalg<ThresholdOp>, SelectionToLinalg<TopKOp>,
               SelectionToLinalg<BlockSelectOp>>(patterns.getContext(),
                                                 parallelSelection);
}

} // namespace mlir::sparsek::detail
