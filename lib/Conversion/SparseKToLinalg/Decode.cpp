//===- Decode.cpp - sparsek.decode_prefill and sparsek.decode_step --------===//
//
// Both update the decode state (docs/Semantics.md section 10; the layout is
// DecodeStepOp's documentation) in one scf.forall over (KV head, batch)
// rows, each row's slices taken from the state inits and inserted back
// (in place after bufferization):
//
//   sparsek.decode_step, per row, at the sequence's position p:
//     1. the candidate: the window slot k + p mod w holds the token at
//        p - w, which leaves the window (w = 0: the new token itself);
//     2. the selection: while fewer than k candidates were seen the
//        candidate takes the next free slot, else it replaces the slot with
//        the smallest (score, position) when its score is at least that
//        score (ties go to the later token): O(k), keys and values copied
//        element by element (no allocation);
//     3. the new token takes the window slot;
//     4. the threshold: the candidate's score enters the sweep of
//        Selection.cpp (two heaps of the live scores, exact f64 sums),
//        which raises tau to the new threshold; past the heaps' capacity
//        the lowest live score is dropped and the overflow recorded;
//   then every query head attends over the updated slots
//   (buildDecodeAttention, Attention.cpp), and lengths[b] grows by one.
//
//   sparsek.decode_prefill, per row, for a prompt of L tokens:
//     the window slots get the last w tokens; the top k of the c = L - w
//     candidates by a k-sized min-heap kept in the selection slots
//     (O(c log k)); the exact threshold by inserting every candidate into
//     a sweep over scratch heaps of the prompt's length and solving once
//     (O(c log c)); the live scores beyond the state's capacity dropped
//     (lowest first, recorded); the heaps copied into the state.
//
// A state that these ops did not produce cannot make them read or write
// out of bounds: heap sizes are clamped to the capacity and positions are
// never used as addresses.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

namespace mlir::sparsek::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Value extract(ImplicitLocOpBuilder &b, Value t, ValueRange idx) {
  return tensor::ExtractOp::create(b, t, idx);
}

Value insert(ImplicitLocOpBuilder &b, Value v, Value t, ValueRange idx) {
  return tensor::InsertOp::create(b, v, t, idx);
}

Value select(ImplicitLocOpBuilder &b, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, c, x, y);
}

Value toIndex(ImplicitLocOpBuilder &b, Value v) {
  return arith::IndexCastOp::create(b, b.getIndexType(), v);
}

Value toI32(ImplicitLocOpBuilder &b, Value v) {
  return arith::IndexCastOp::create(b, b.getI32Type(), v);
}

Value cmpI(ImplicitLocOpBuilder &b, arith::CmpIPredicate p, Value x,
           Value y) {
  return arith::CmpIOp::create(b, p, x, y);
}

/// The slice of a state tensor that belongs to row (bi, g): every trailing
/// dim, the two leading ones dropped.
ForallSlice rowOf(ImplicitLocOpBuilder &b, Value t, Value bi, Value g) {
  auto type = cast<RankedTensorType>(t.getType());
  ForallSlice s;
  s.offsets = {bi, g};
  s.sizes = {b.getIndexAttr(1), b.getIndexAttr(1)};
  SmallVector<int64_t> shape;
  for (int64_t d = 2; d < type.getRank(); ++d) {
    s.offsets.push_back(b.getIndexAttr(0));
    int64_t size = type.getDimSize(d);
    s.sizes.push_back(ShapedType::isDynamic(size)
                          ? OpFoldResult(dimValue(b, t, d))
                          : OpFoldResult(b.getIndexAttr(size)));
    shape.push_back(size);
  }
  SmallVector<OpFoldResult> strides(s.offsets.size(), b.getIndexAttr(1));
  s.source = tensor::ExtractSliceOp::create(
      b, RankedTensorType::get(shape, type.getElementType()), t, s.offsets,
      s.sizes, strides);
  return s;
}

/// Heap `h` (0: capped, 1: fractional) of a row's band: its keys and tags
/// (rows of `scores`, `tags` [2, L]) and its size, clamped to [0, limit].
Heap bandHeap(ImplicitLocOpBuilder &b, Value scores, Value tags, Value counts,
              int64_t h, Value limit) {
  Value hi = constIndex(b, h);
  Value len = dimValue(b, scores, 1);
  auto row = [&](Value t) {
    return extractRow(b, t, {hi, b.getIndexAttr(0)}, {b.getIndexAttr(1), len});
  };
  Value size = clampIndex(b, toIndex(b, extract(b, counts, {hi})),
                          constIndex(b, 0), limit);
  return {row(scores), row(tags), size};
}

/// Writes heap `h` back into the band rows `scores`, `tags` ([2, L]).
std::pair<Value, Value> storeHeap(ImplicitLocOpBuilder &b, const Heap &heap,
                                  Value scores, Value tags, int64_t h) {
  Value len = dimValue(b, scores, 1);
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(h), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), len};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return {tensor::InsertSliceOp::create(b, heap.keys, scores, offsets, sizes,
                                        strides),
          tensor::InsertSliceOp::create(b, heap.tags, tags, offsets, sizes,
                                        strides)};
}

/// Copies `len` elements from row `from` of `src` (at `srcIdx..., c`) into
/// row `to` of `dst` ([S, E]) where `cond`, element by element (branch-free,
/// no allocation); returns the new `dst`. With `src` = `dst` (another row
/// of the same tensor) the loop reads the tensor it is writing, so that
/// bufferization keeps it in place.
Value copyRowIf(ImplicitLocOpBuilder &b, Value cond, Value src,
                SmallVector<Value> srcIdx, Value dst, Value to, Value len) {
  Type elem = cast<RankedTensorType>(dst.getType()).getElementType();
  bool self = src == dst;
  return forLoop(b, constIndex(b, 0), len, {dst},
                 [&](ImplicitLocOpBuilder &lb, Value c, ValueRange a) {
                   SmallVector<Value> at = srcIdx;
                   at.push_back(c);
                   Value v = castFloat(lb, extract(lb, self ? a[0] : src, at),
                                       elem);
                   Value old = extract(lb, a[0], {to, c});
                   return SmallVector<Value>{
                       insert(lb, select(lb, cond, v, old), a[0], {to, c})};
                 })[0];
}

/// A row's band: two heaps, the threshold sums, the overflow flag; read from
/// and written to the row slices of band_scores, band_positions, threshold
/// and counts.
struct Band {
  Sweep sweep;
  Value tau, overflow; // f64, i32

  /// Drops the lowest live scores while more than `live` remain (the
  /// state's capacity, k + Cb), recording the overflow.
  void cap(ImplicitLocOpBuilder &b, Value live) {
    SmallVector<Value> inits = sweep.pack();
    inits.push_back(overflow);
    SmallVector<Type> types = llvm::to_vector(ValueRange(inits).getTypes());
    auto loop = scf::WhileOp::create(
        b, types, inits,
        [&](OpBuilder &ob, Location loc, ValueRange a) {
          ImplicitLocOpBuilder nb(loc, ob);
          Sweep s = Sweep::unpack(a);
          Value total = arith::AddIOp::create(nb, s.cap.size, s.mid.size);
          scf::ConditionOp::create(
              nb, cmpI(nb, arith::CmpIPredicate::ugt, total, live), a);
        },
        [&](OpBuilder &ob, Location loc, ValueRange a) {
          ImplicitLocOpBuilder nb(loc, ob);
          SmallVector<Value> r = sweepDropLowest(nb, Sweep::unpack(a)).pack();
          r.push_back(constI32(nb, 1));
          scf::YieldOp::create(nb, r);
        });
    sweep = Sweep::unpack(loop.getResults());
    overflow = loop.getResults().back();
  }
};

/// The row slices of the eight per-row state tensors, in operand order.
struct Row {
  Value keys, values, scores, positions, bandScores, bandTags, threshold,
      counts;
  SmallVector<Value> all() const {
    return {keys,     values,    scores,    positions,
            bandScores, bandTags, threshold, counts};
  }
};

/// Writes the band's threshold sums and counts into the row.
void storeScalars(ImplicitLocOpBuilder &b, Row &row, const Band &band) {
  Value t = row.threshold;
  t = insert(b, band.tau, t, {constIndex(b, 0)});
  t = insert(b, band.sweep.anchor, t, {constIndex(b, 1)});
  t = insert(b, band.sweep.fracSum, t, {constIndex(b, 2)});
  row.threshold = t;
  Value c = row.counts;
  c = insert(b, toI32(b, band.sweep.cap.size), c, {constIndex(b, 0)});
  c = insert(b, toI32(b, band.sweep.mid.size), c, {constIndex(b, 1)});
  c = insert(b, band.overflow, c, {constIndex(b, 2)});
  row.counts = c;
}

/// Writes the band (heaps, sums, counts) into the row.
void storeBand(ImplicitLocOpBuilder &b, Row &row, const Band &band) {
  std::tie(row.bandScores, row.bandTags) =
      storeHeap(b, band.sweep.cap, row.bandScores, row.bandTags, 0);
  std::tie(row.bandScores, row.bandTags) =
      storeHeap(b, band.sweep.mid, row.bandScores, row.bandTags, 1);
  storeScalars(b, row, band);
}

/// scf.forall over (KV head, batch) rows of the state `inits` (the first
/// eight state tensors) and of `extra` ([B, Hkv, ...] scratch); `body`
/// rewrites a row's slices (the extra ones in place in its array).
SmallVector<Value>
forEachRow(ImplicitLocOpBuilder &b, ValueRange inits, ValueRange extra,
           function_ref<void(ImplicitLocOpBuilder &, Value bi, Value g, Row &,
                             MutableArrayRef<Value>)>
               body) {
  Value batch = dimValue(b, inits[0], 0), hkv = dimValue(b, inits[0], 1);
  SmallVector<Value> all = llvm::to_vector(inits);
  all.append(extra.begin(), extra.end());
  return forallUpdate(
      b, {hkv, batch}, all,
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs, ValueRange outs) {
        Value g = ivs[0], bi = ivs[1];
        SmallVector<ForallSlice> slices;
        for (Value o : outs)
          slices.push_back(rowOf(fb, o, bi, g));
        Row row{slices[0].source, slices[1].source, slices[2].source,
                slices[3].source, slices[4].source, slices[5].source,
                slices[6].source, slices[7].source};
        SmallVector<Value> more;
        for (size_t i = 8; i < slices.size(); ++i)
          more.push_back(slices[i].source);
        body(fb, bi, g, row, more);
        SmallVector<Value> updated = row.all();
        updated.append(more);
        for (auto [slice, v] : llvm::zip_equal(slices, updated))
          slice.source = v;
        return slices;
      });
}

/// lengths[b] = f(b, lengths) for every sequence, in place in the init
/// `lengths` (f reads the tensor it is given, the loop's own).
Value setLengths(ImplicitLocOpBuilder &b, Value lengths,
                 function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> f) {
  return forallUpdate(
      b, {dimValue(b, lengths, 0)}, {lengths},
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs, ValueRange outs) {
        Value bi = ivs[0];
        ForallSlice s;
        s.offsets = {bi};
        s.sizes = {fb.getIndexAttr(1)};
        SmallVector<OpFoldResult> strides(1, fb.getIndexAttr(1));
        Value one = tensor::ExtractSliceOp::create(
            fb, RankedTensorType::get({1}, fb.getI32Type()), outs[0],
            s.offsets, s.sizes, strides);
        s.source = insert(fb, f(fb, bi, outs[0]), one, {constIndex(fb, 0)});
        return SmallVector<ForallSlice>{s};
      })[0];
}

//===----------------------------------------------------------------------===//
// decode_step
//===----------------------------------------------------------------------===//

struct DecodeStepToLinalg : OpRewritePattern<DecodeStepOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DecodeStepOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    int64_t k = op.getKAttr().getInt(), w = op.getWindowAttr().getInt();
    ValueRange inits = op.getDpsInits(); // out, then the nine state tensors
    Value lengths = inits[9];
    Value key = op.getKey(), value = op.getValue(), u = op.getU();
    SmallVector<Value> rows = forEachRow(
        b, inits.slice(1, 8), {},
        [&](ImplicitLocOpBuilder &rb, Value bi, Value g, Row &row,
            MutableArrayRef<Value>) {
          updateRow(rb, bi, g, row, lengths, key, value, u, k, w);
        });
    Value scale = softmaxScale(b, op.getStaticScale(), op.getQ());
    Value out = buildDecodeAttention(b, op.getQ(), rows[0], rows[1], rows[2],
                                     rows[3], rows[6], k, scale, op.getGate(),
                                     op.getOut().getType());
    Value newLengths =
        setLengths(b, lengths,
                   [&](ImplicitLocOpBuilder &lb, Value bi, Value current) {
                     return arith::AddIOp::create(
                         lb, position(lb, current, bi), constI32(lb, 1));
                   });
    SmallVector<Value> results = {out};
    results.append(rows);
    results.push_back(newLengths);
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// The sequence's position lengths[bi] (i32), at least 0 and below
  /// 2^31 - 1 (so that p + 1 stays an i32).
  static Value position(ImplicitLocOpBuilder &b, Value lengths, Value bi) {
    Value p = extract(b, lengths, {bi});
    return arith::MinSIOp::create(
        b, arith::MaxSIOp::create(b, p, constI32(b, 0)),
        constI32(b, std::numeric_limits<int32_t>::max() - 1));
  }

  static void updateRow(ImplicitLocOpBuilder &b, Value bi, Value g, Row &row,
                        Value lengths, Value key, Value value, Value u,
                        int64_t k, int64_t w) {
    using P = arith::CmpIPredicate;
    Value zero = constIndex(b, 0), kIdx = constIndex(b, k);
    Value d = dimValue(b, row.keys, 1), dv = dimValue(b, row.values, 1);
    Value p32 = position(b, lengths, bi);
    Value p = toIndex(b, p32);
    Value uNew = extract(b, u, {bi, g, zero});

    // 1. The candidate: the token leaving the window, or the new one.
    Value has, cu, cpos, ws;
    if (w == 0) {
      has = arith::ConstantIntOp::create(b, 1, 1);
      cu = uNew;
      cpos = p32;
    } else {
      Value wIdx = constIndex(b, w);
      ws = arith::AddIOp::create(b, kIdx, arith::RemUIOp::create(b, p, wIdx));
      has = cmpI(b, P::uge, p, wIdx);
      cu = extract(b, row.scores, {ws});
      cpos = extract(b, row.positions, {ws});
    }

    // 2. The selection: a free slot while fewer than k candidates were
    // seen, else the smallest (score, position) if the candidate's score is
    // at least its score.
    Value seen = arith::SubIOp::create(b, maxIndex(b, p, constIndex(b, w)),
                                       constIndex(b, w));
    Value free = cmpI(b, P::ult, seen, kIdx);
    SmallVector<Value> minInit = {zero, constF32(b, kInf), constI32(b, 0)};
    SmallVector<Value> mins = forLoop(
        b, zero, kIdx, minInit,
        [&](ImplicitLocOpBuilder &lb, Value s, ValueRange a) {
          Value sc = extract(lb, row.scores, {s});
          Value ps = extract(lb, row.positions, {s});
          Value less = pairLess(lb, sc, ps, a[1], a[2]);
          return SmallVector<Value>{select(lb, less, s, a[0]),
                                    select(lb, less, sc, a[1]),
                                    select(lb, less, ps, a[2])};
        });
    Value beats = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, cu,
                                        mins[1]);
    Value target = select(b, free, minIndex(b, seen, kIdx), mins[0]);
    // target < k always; `seen` is only the target while it is below k.
    target = minIndex(b, target, arith::SubIOp::create(b, kIdx,
                                                       constIndex(b, 1)));
    Value move = arith::AndIOp::create(b, has,
                                       arith::OrIOp::create(b, free, beats));
    if (w == 0) {
      row.keys = copyRowIf(b, move, key, {bi, g, zero}, row.keys, target, d);
      row.values =
          copyRowIf(b, move, value, {bi, g, zero}, row.values, target, dv);
    } else {
      row.keys = copyRowIf(b, move, row.keys, {ws}, row.keys, target, d);
      row.values = copyRowIf(b, move, row.values, {ws}, row.values, target, dv);
    }
    row.scores = insert(
        b, select(b, move, cu, extract(b, row.scores, {target})), row.scores,
        {target});
    row.positions = insert(
        b, select(b, move, cpos, extract(b, row.positions, {target})),
        row.positions, {target});

    // 3. The new token takes its window slot.
    if (w > 0) {
      Value yes = arith::ConstantIntOp::create(b, 1, 1);
      row.keys = copyRowIf(b, yes, key, {bi, g, zero}, row.keys, ws, d);
      row.values = copyRowIf(b, yes, value, {bi, g, zero}, row.values, ws, dv);
      row.scores = insert(b, uNew, row.scores, {ws});
      row.positions = insert(b, p32, row.positions, {ws});
    }

    // 4. The threshold: the candidate's score (or nothing) enters the
    // sweep, tau rises to the new threshold; capacity k + Cb.
    Value len = dimValue(b, row.bandScores, 1);
    Value live = arith::SubIOp::create(b, len, constIndex(b, 1));
    Band band = loadBand(b, row, live);
    Value offered = select(b, has, cu, constF32(b, -kInf));
    Sweep s = sweepInsert(b, band.sweep, band.tau, offered, cpos);
    std::tie(band.sweep, band.tau) = sweepSolve(b, s, band.tau, k);
    band.cap(b, live);
    storeBand(b, row, band);
  }

public:
  /// The row's band as stored; heap sizes clamped so that together they
  /// never exceed `live` (k + Cb): one more always fits.
  static Band loadBand(ImplicitLocOpBuilder &b, const Row &row, Value live) {
    Heap cap = bandHeap(b, row.bandScores, row.bandTags, row.counts, 0, live);
    Heap mid = bandHeap(b, row.bandScores, row.bandTags, row.counts, 1,
                        arith::SubIOp::create(b, live, cap.size));
    Value t = row.threshold;
    Sweep s{cap, mid, extract(b, t, {constIndex(b, 2)}),
            extract(b, t, {constIndex(b, 1)})};
    Value flag = extract(b, row.counts, {constIndex(b, 2)});
    Value overflow = arith::ExtUIOp::create(
        b, b.getI32Type(),
        cmpI(b, arith::CmpIPredicate::ne, flag, constI32(b, 0)));
    return {s, extract(b, t, {constIndex(b, 0)}), overflow};
  }
};

//===----------------------------------------------------------------------===//
// decode_prefill
//===----------------------------------------------------------------------===//

struct DecodePrefillToLinalg : OpRewritePattern<DecodePrefillOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DecodePrefillOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    int64_t k = op.getKAttr().getInt(), w = op.getWindowAttr().getInt();
    ValueRange inits = op.getDpsInits();
    Value key = op.getKey(), value = op.getValue(), u = op.getU(),
          plen = op.getPromptLengths();
    Value promptLen = dimValue(b, u, 2);
    // Scratch heaps for every candidate of a prompt, per row: [B, Hkv, P]
    // scores and tags of each heap (four tensors, not two rows of one, so
    // that bufferization sees the heaps apart), shared outputs of the row
    // loop. At least one entry: a slice at offset 0 of an empty dim would
    // not verify once its size folds to 0.
    int64_t dyn = ShapedType::kDynamic;
    SmallVector<Value> scratchSizes = {dimValue(b, u, 0), dimValue(b, u, 1),
                                       maxIndex(b, promptLen, constIndex(b, 1))};
    SmallVector<Value> scratchInits;
    for (int h = 0; h < 2; ++h)
      scratchInits.append(
          {scratchTensor(b, {dyn, dyn, dyn}, scratchSizes, b.getF32Type()),
           scratchTensor(b, {dyn, dyn, dyn}, scratchSizes, b.getI32Type())});
    SmallVector<Value> rows = forEachRow(
        b, inits.take_front(8), scratchInits,
        [&](ImplicitLocOpBuilder &fb, Value bi, Value g, Row &row,
            MutableArrayRef<Value> more) {
          Heap scratch[2] = {{more[0], more[1], constIndex(fb, 0)},
                             {more[2], more[3], constIndex(fb, 0)}};
          Value n = promptLength(fb, plen, bi, promptLen);
          fillRow(fb, bi, g, row, scratch, n, key, value, u, k, w);
          for (int h = 0; h < 2; ++h) {
            more[2 * h] = scratch[h].keys;
            more[2 * h + 1] = scratch[h].tags;
          }
        });
    rows.resize(8);
    rows.push_back(
        setLengths(b, inits[8],
                   [&](ImplicitLocOpBuilder &lb, Value bi, Value) {
                     return toI32(lb, promptLength(lb, plen, bi, promptLen));
                   }));
    rewriter.replaceOp(op, rows);
    return success();
  }

private:
  /// prompt_lengths[bi] clamped to [0, P], as an index.
  static Value promptLength(ImplicitLocOpBuilder &b, Value plen, Value bi,
                            Value promptLen) {
    Value n = extract(b, plen, {bi});
    n = arith::MaxSIOp::create(b, n, constI32(b, 0));
    return minIndex(b, toIndex(b, n), promptLen);
  }

  /// One row of the prefill; `scratch` holds the two sweep heaps' storage
  /// (the final heaps are returned in it).
  static void fillRow(ImplicitLocOpBuilder &b, Value bi, Value g, Row &row,
                      Heap (&scratch)[2], Value n, Value key, Value value,
                      Value u, int64_t k, int64_t w) {
    using P = arith::CmpIPredicate;
    Value zero = constIndex(b, 0), kIdx = constIndex(b, k),
          wIdx = constIndex(b, w);
    Value d = dimValue(b, row.keys, 1), dv = dimValue(b, row.values, 1);
    // c = max(0, n - w) candidates; the window is [c, n).
    Value c = arith::SubIOp::create(b, maxIndex(b, n, wIdx), wIdx);

    // Every slot empty (zeros, position -1), then the window's tokens.
    Value yes = arith::ConstantIntOp::create(b, 1, 1);
    auto fill = [&](Value t, Value v) {
      return linalg::FillOp::create(b, ValueRange{v}, ValueRange{t})
          .getResult(0);
    };
    Type elem = cast<RankedTensorType>(row.keys.getType()).getElementType();
    Value zeroElem = castFloat(b, constF32(b, 0), elem);
    row.keys = fill(row.keys, zeroElem);
    row.values = fill(row.values, zeroElem);
    row.scores = fill(row.scores, constF32(b, 0));
    row.positions = fill(row.positions, constI32(b, -1));
    if (w > 0) {
      SmallVector<Value> win = forLoop(
          b, c, n, {row.keys, row.values, row.scores, row.positions},
          [&](ImplicitLocOpBuilder &lb, Value j, ValueRange a) {
            Value slot = arith::AddIOp::create(
                lb, kIdx, arith::RemUIOp::create(lb, j, wIdx));
            return SmallVector<Value>{
                copyRowIf(lb, yes, key, {bi, g, j}, a[0], slot, d),
                copyRowIf(lb, yes, value, {bi, g, j}, a[1], slot, dv),
                insert(lb, extract(lb, u, {bi, g, j}), a[2], {slot}),
                insert(lb, toI32(lb, j), a[3], {slot})};
          });
      row.keys = win[0];
      row.values = win[1];
      row.scores = win[2];
      row.positions = win[3];
    }

    // The top k candidates: a min-heap over (score, position) in the
    // selection slots; the new one replaces the minimum when larger (ties
    // to the later position).
    SmallVector<OpFoldResult> selOff = {b.getIndexAttr(0)},
                              selSize = {b.getIndexAttr(k)};
    SmallVector<OpFoldResult> unit = {b.getIndexAttr(1)};
    auto sel = [&](Value t) {
      return tensor::ExtractSliceOp::create(
          b, RankedTensorType::get({k}, cast<RankedTensorType>(t.getType())
                                            .getElementType()),
          t, selOff, selSize, unit);
    };
    Heap top{sel(row.scores), sel(row.positions), zero};
    SmallVector<Value> topInit = {top.keys, top.tags, top.size};
    SmallVector<Value> topRes = forLoop(
        b, zero, c, topInit,
        [&](ImplicitLocOpBuilder &lb, Value j, ValueRange a) {
          Heap h{a[0], a[1], a[2]};
          Value uj = extract(lb, u, {bi, g, j}), tj = toI32(lb, j);
          Value notFull = cmpI(lb, P::ult, h.size, kIdx);
          SmallVector<Value> r = ifElse(
              lb, notFull, ValueRange(a).getTypes(),
              [&](ImplicitLocOpBuilder &pb) {
                Heap n = heapPush(pb, h, uj, tj);
                return SmallVector<Value>{n.keys, n.tags, n.size};
              },
              [&](ImplicitLocOpBuilder &eb) {
                auto [mk, mt] = heapTop(eb, h);
                Value better = pairLess(eb, mk, mt, uj, tj);
                return ifElse(
                    eb, better, ValueRange(a).getTypes(),
                    [&](ImplicitLocOpBuilder &rb) {
                      Heap n = heapReplaceTop(rb, h, uj, tj);
                      return SmallVector<Value>{n.keys, n.tags, n.size};
                    },
                    [&](ImplicitLocOpBuilder &) {
                      return SmallVector<Value>(a.begin(), a.end());
                    });
              });
          return r;
        });
    row.scores = tensor::InsertSliceOp::create(b, topRes[0], row.scores,
                                               selOff, selSize, unit);
    row.positions = tensor::InsertSliceOp::create(b, topRes[1], row.positions,
                                                  selOff, selSize, unit);
    // The selected tokens' keys and values; empty selection slots back to
    // position -1 and score 0.
    SmallVector<Value> selRes = forLoop(
        b, zero, kIdx, {row.keys, row.values, row.scores, row.positions},
        [&](ImplicitLocOpBuilder &lb, Value s, ValueRange a) {
          Value used = cmpI(lb, P::ult, s, topRes[2]);
          // An unused slot reads row 0 (in range when the prompt is not
          // empty, which `used` implies) and keeps its contents.
          Value j = select(lb, used, toIndex(lb, extract(lb, a[3], {s})), zero);
          Value sc = select(lb, used, extract(lb, a[2], {s}), constF32(lb, 0));
          Value ps = select(lb, used, extract(lb, a[3], {s}), constI32(lb, -1));
          return SmallVector<Value>{
              copyRowIf(lb, used, key, {bi, g, j}, a[0], s, d),
              copyRowIf(lb, used, value, {bi, g, j}, a[1], s, dv),
              insert(lb, sc, a[2], {s}), insert(lb, ps, a[3], {s})};
        });
    row.keys = selRes[0];
    row.values = selRes[1];
    row.scores = selRes[2];
    row.positions = selRes[3];

    // The exact threshold: every candidate into a sweep over the scratch
    // heaps (capacity P), solved once.
    Sweep s{scratch[0], scratch[1], constF64(b, 0), constF64(b, 0)};
    Value negInf = constF64(b, -kInf);
    s = Sweep::unpack(forLoop(
        b, zero, c, s.pack(),
        [&](ImplicitLocOpBuilder &lb, Value j, ValueRange a) {
          return sweepInsert(lb, Sweep::unpack(a), negInf,
                             extract(lb, u, {bi, g, j}), toI32(lb, j))
              .pack();
        }));
    Band band;
    std::tie(band.sweep, band.tau) = sweepSolve(b, s, negInf, k);
    band.overflow = constI32(b, 0);
    Value len = dimValue(b, row.bandScores, 1);
    band.cap(b, arith::SubIOp::create(b, len, constIndex(b, 1)));
    // The heaps' live prefixes into the state (a heap's prefix of its size
    // is the heap); the rest of the band rows -inf, -1.
    row.bandScores = fill(row.bandScores, constF32(b, -kInf));
    row.bandTags = fill(row.bandTags, constI32(b, -1));
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    for (int64_t h = 0; h < 2; ++h) {
      const Heap &from = h == 0 ? band.sweep.cap : band.sweep.mid;
      SmallVector<OpFoldResult> off = {b.getIndexAttr(0)}, size = {from.size};
      auto prefix = [&](Value t) {
        return tensor::ExtractSliceOp::create(
            b,
            RankedTensorType::get({ShapedType::kDynamic},
                                  cast<RankedTensorType>(t.getType())
                                      .getElementType()),
            t, off, size, unit);
      };
      SmallVector<OpFoldResult> dstOff = {b.getIndexAttr(h),
                                          b.getIndexAttr(0)},
                                dstSize = {b.getIndexAttr(1), from.size};
      row.bandScores = tensor::InsertSliceOp::create(
          b, prefix(from.keys), row.bandScores, dstOff, dstSize, strides);
      row.bandTags = tensor::InsertSliceOp::create(
          b, prefix(from.tags), row.bandTags, dstOff, dstSize, strides);
    }
    scratch[0] = band.sweep.cap;
    scratch[1] = band.sweep.mid;
    storeScalars(b, row, band);
  }
};

} // namespace

void populateDecodePatterns(RewritePatternSet &patterns) {
  patterns.add<DecodeStepToLinalg, DecodePrefillToLinalg>(
      patterns.getContext());
}

} // namespace mlir::sparsek::detail
