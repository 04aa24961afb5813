//===- Attention.cpp - gathered attention and the whole layer ---*- C++ -*-===//
//
//   sparsek.gathered_attention
//     => scf.forall (i, h, b) in (N, Hq, B): for query i, an online softmax
//        (running max, rescaled sum and accumulator) over its window rows
//        [max(0, p - w + 1), p] and its valid selected rows; O((k + w) D)
//        work and O(Dv) memory per query.
//   sparsek.attention {causal, dynamic N}
//     => the threshold and top-k sweeps of Selection.cpp, then the above.
//   A causal layer that returns its log-sum-exp (second result) is lowered
//   here whatever N (the split stages have none): each query's
//   max + log(sum) goes to a second forall output.
//   Every other sparsek.attention is split by sparsek-decompose's pattern
//   (part of this conversion) and its stages lowered.
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

Value extract(ImplicitLocOpBuilder &b, Value t, ValueRange idx) {
  return tensor::ExtractOp::create(b, t, idx);
}

/// Query i's column [bi, h, :, i] of a [B, H, C, N] tensor: offsets, sizes.
std::pair<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
columnSlice(ImplicitLocOpBuilder &b, Value bi, Value h, Value i, Value c) {
  return {{bi, h, b.getIndexAttr(0), i},
          {b.getIndexAttr(1), b.getIndexAttr(1), c, b.getIndexAttr(1)}};
}

/// Online-softmax state of one query: running max, denominator and the
/// unnormalised output row (f32, a row of a caller-level buffer). (Keeping
/// the row in scalars for a static Dv was measured slower on the GPU:
/// bench/NOTES.md, run 17.)
struct Online {
  Value mx, den, acc;
  SmallVector<Value> pack() const { return {mx, den, acc}; }
  static Online unpack(ValueRange v) { return {v[0], v[1], v[2]}; }
};

/// `t` with its last two dims swapped into `init` (its element type): [B, H,
/// N, C] to [B, H, C, N], or with `queriesLast` [B, H, C, N] to [B, H, N,
/// C]. One iteration per (query, head, batch) moves its query's C entries;
/// the query-major side is read or written at consecutive addresses by
/// consecutive queries' threads.
Value swapLastTwo(ImplicitLocOpBuilder &b, Value t, Value init,
                  bool queriesLast) {
  Value bsz = dimValue(b, t, 0), h = dimValue(b, t, 1),
        n = dimValue(b, t, queriesLast ? 3 : 2),
        c = dimValue(b, t, queriesLast ? 2 : 3);
  Type elem = cast<RankedTensorType>(init.getType()).getElementType();
  return forallUpdate(
      b, {n, h, bsz}, {init},
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs, ValueRange outs) {
        Value i = ivs[0], hi = ivs[1], bi = ivs[2];
        SmallVector<OpFoldResult> offsets, sizes;
        if (queriesLast) {
          offsets = {bi, hi, i, fb.getIndexAttr(0)};
          sizes = {fb.getIndexAttr(1), fb.getIndexAttr(1), fb.getIndexAttr(1),
                   c};
        } else {
          std::tie(offsets, sizes) = columnSlice(fb, bi, hi, i, c);
        }
        Value moved = forLoop(
            fb, constIndex(fb, 0), c,
            {extractRow(fb, outs[0], offsets, sizes)},
            [&](ImplicitLocOpBuilder &lb, Value e, ValueRange a) {
              SmallVector<Value> at = {bi, hi, i, e};
              if (queriesLast)
                std::swap(at[2], at[3]);
              Value v = castFloat(lb, extract(lb, t, at), elem);
              return SmallVector<Value>{
                  tensor::InsertOp::create(lb, v, a[0], ValueRange{e})};
            })[0];
        return SmallVector<ForallSlice>{{moved, offsets, sizes}};
      })[0];
}

/// `t` ([B, H, N, C]) as [B, H, C, N] in f32: the per-query loops that
/// follow read it (and write their accumulators, also [B, H, C, N]) with
/// consecutive queries' threads at consecutive addresses.
Value queryMajor(ImplicitLocOpBuilder &b, Value t) {
  int64_t dyn = ShapedType::kDynamic;
  Value init = scratchTensor(
      b, {dyn, dyn, dyn, dyn},
      {dimValue(b, t, 0), dimValue(b, t, 1), dimValue(b, t, 3),
       dimValue(b, t, 2)},
      b.getF32Type());
  return swapLastTwo(b, t, init, /*queriesLast=*/false);
}

/// The f32 accumulators `acc` ([B, Hq, Dv, N]) as rows [B, Hq, N, Dv] in
/// the element type of `resultType` (`sizes` its sizes).
Value convertRows(ImplicitLocOpBuilder &b, Value acc,
                  RankedTensorType resultType, ValueRange sizes) {
  Value init = emptyTensor(b, resultType.getShape(), sizes,
                           resultType.getElementType());
  return swapLastTwo(b, acc, init, /*queriesLast=*/true);
}

} // namespace

namespace {

/// The attention of one query (the body of the forall over queries): its
/// window, its selected rows and the normalisation, as named steps over an
/// online softmax. Branch-free: no tensor is yielded by an scf.if, so buffer
/// ownership stays static (GPU kernels) and threads do not diverge.
class QueryAttention {
public:
  QueryAttention(ImplicitLocOpBuilder &b, Value q, Value key, Value value,
                 Value u, Value scale, Gate gate, Value bi, Value h, Value g,
                 Value i)
      : b(b), q(q), key(key), value(value), u(u), scale(scale), gate(gate),
        bi(bi), h(h), g(g), i(i), zero(constIndex(b, 0)),
        d(dimValue(b, key, 3)), dv(dimValue(b, value, 3)),
        m(dimValue(b, key, 2)) {}

  /// Nothing seen yet: max -inf, denominator 0, accumulator `accRow` (the
  /// query's row of a caller-provided f32 buffer: no allocation per
  /// thread) zeroed.
  Online start(Value accRow) {
    Value acc = linalg::FillOp::create(b, ValueRange{constF32(b, 0)},
                                       ValueRange{accRow})
                    .getResult(0);
    return {constF32(b, -kInf), constF32(b, 0), acc};
  }

  /// The window: rows [lo, end), weight 1.
  Online window(Online s, Value lo, Value end) {
    Value always = arith::ConstantIntOp::create(b, 1, 1);
    return Online::unpack(forLoop(
        b, lo, end, s.pack(),
        [&](ImplicitLocOpBuilder &wb, Value j, ValueRange a) {
          return addKey(wb, Online::unpack(a), j, constF32(wb, 1), always)
              .pack();
        }));
  }

  /// A block's run of window rows [runLo, runEnd), each kept (weight 1)
  /// when inside this query's window [lo, end): every query of the block
  /// walks the same rows.
  Online windowRun(Online s, Value runLo, Value runEnd, Value lo, Value end) {
    return Online::unpack(forLoop(
        b, runLo, runEnd, s.pack(),
        [&](ImplicitLocOpBuilder &wb, Value j, ValueRange a) {
          Value inside = arith::AndIOp::create(
              wb,
              arith::CmpIOp::create(wb, arith::CmpIPredicate::sge, j, lo),
              arith::CmpIOp::create(wb, arith::CmpIPredicate::slt, j, end));
          return addKey(wb, Online::unpack(a), j, constF32(wb, 1), inside)
              .pack();
        }));
  }

  /// A block's selection union (`unionKeys[bi, g, blk, 0:count]`): key j
  /// is this query's when j < `cand` (before its window) and (u_j, j) >=
  /// (kthS, kthI), or kthI = -1 (fewer than k candidates: all of them);
  /// soft weight against `t`.
  Online blockUnion(Online s, Value unionKeys, Value blk, Value count,
                    Value cand, Value kthS, Value kthI, Value t) {
    using P = arith::CmpIPredicate;
    Value kthIdx = arith::IndexCastOp::create(b, b.getIndexType(), kthI);
    Value all = arith::CmpIOp::create(b, P::slt, kthIdx, zero);
    return Online::unpack(forLoop(
        b, zero, count, s.pack(),
        [&](ImplicitLocOpBuilder &sb, Value e, ValueRange a) {
          Value j = arith::IndexCastOp::create(
              sb, sb.getIndexType(), extract(sb, unionKeys, {bi, g, blk, e}));
          // Entries past the count are never read; a key is in [0, M).
          Value uj = extract(sb, u, {bi, g, j});
          Value above = arith::OrIOp::create(
              sb, arith::CmpFOp::create(sb, arith::CmpFPredicate::OGT, uj, kthS),
              arith::AndIOp::create(
                  sb,
                  arith::CmpFOp::create(sb, arith::CmpFPredicate::OEQ, uj, kthS),
                  arith::CmpIOp::create(sb, P::sge, j, kthIdx)));
          Value keep = arith::AndIOp::create(
              sb, arith::CmpIOp::create(sb, P::slt, j, cand),
              arith::OrIOp::create(sb, all, above));
          return addKey(sb, Online::unpack(a), j, softWeight(sb, uj, t), keep)
              .pack();
        }));
  }

  /// The selection: the valid entries of `indices[bi, g, i, :]` outside
  /// the window [lo, end), with soft weights against `t`. Invalid entries
  /// (padding, out of range, in the window) read row 0 and add nothing.
  Online selection(Online s, Value indices, Value t, Value lo, Value end) {
    Value kSel = dimValue(b, indices, 3);
    return Online::unpack(forLoop(
        b, zero, kSel, s.pack(),
        [&](ImplicitLocOpBuilder &sb, Value e, ValueRange a) {
          SelectedKey k = selectedKey(sb, indices, {bi, g, i, e}, u, {bi, g},
                                      t, lo, end, m, zero);
          return addKey(sb, Online::unpack(a), k.j, k.weight, k.valid).pack();
        }));
  }

  /// Keys [0, count) of a decode state's slots: `weightOf(j)` gives key j's
  /// gate weight and whether it is attended.
  Online slots(Online s, Value count,
               function_ref<std::pair<Value, Value>(ImplicitLocOpBuilder &,
                                                    Value)>
                   weightOf) {
    return Online::unpack(forLoop(
        b, zero, count, s.pack(),
        [&](ImplicitLocOpBuilder &sb, Value j, ValueRange a) {
          auto [wgt, valid] = weightOf(sb, j);
          return addKey(sb, Online::unpack(a), j, wgt, valid).pack();
        }));
  }

  /// log(den) + max: the log-sum-exp of the logits; -inf when nothing
  /// finite was attended.
  Value logSumExp(const Online &fin) {
    Value live = arith::AndIOp::create(
        b,
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, fin.den,
                              constF32(b, 0)),
        arith::CmpFOp::create(b, arith::CmpFPredicate::ONE, fin.mx,
                              constF32(b, -kInf)));
    return arith::SelectOp::create(
        b, live,
        arith::AddFOp::create(b, fin.mx, math::LogOp::create(b, fin.den)),
        constF32(b, -kInf));
  }

  /// acc / den, in place in the accumulator row; a query with nothing
  /// finite to attend to gets zeros.
  Value normalize(Online fin) {
    Value inv = reciprocal(fin);
    return forLoop(b, zero, dv, {fin.acc},
                   [&](ImplicitLocOpBuilder &ob, Value c, ValueRange a) {
                     Value v =
                         arith::MulFOp::create(ob, extract(ob, a[0], {c}), inv);
                     return SmallVector<Value>{
                         tensor::InsertOp::create(ob, v, a[0], ValueRange{c})};
                   })[0];
  }

private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  /// 1 / den, or 0 when nothing finite was attended.
  Value reciprocal(const Online &fin) {
    Value positive = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                           fin.den, constF32(b, 0));
    return arith::SelectOp::create(
        b, positive, arith::DivFOp::create(b, constF32(b, 1), fin.den),
        constF32(b, 0));
  }

  /// dot(q_i, key_j) in f32.
  /// `q` is the queries transposed, [B, Hq, D, N] in f32 (queryMajor):
  /// consecutive queries' threads read consecutive addresses.
  Value dot(ImplicitLocOpBuilder &pb, Value j) {
    Type f32 = pb.getF32Type();
    return forLoop(pb, zero, d, {constF32(pb, 0)},
                   [&](ImplicitLocOpBuilder &db, Value c, ValueRange a) {
                     Value qv = extract(db, q, {bi, h, c, i});
                     Value kv = castFloat(db, extract(db, key, {bi, g, j, c}),
                                          f32);
                     return SmallVector<Value>{arith::AddFOp::create(
                         db, a[0], arith::MulFOp::create(db, qv, kv))};
                   })[0];
  }

  /// The gated logit of key j with weight `wgt` (Semantics 5); -inf when
  /// not `valid`.
  Value logit(ImplicitLocOpBuilder &pb, Value j, Value wgt, Value valid) {
    return gatedLogit(pb, gate, scale, dot(pb, j), wgt, valid);
  }

  /// Adds key j (gate weight `wgt`, f32) to the online softmax; `valid`
  /// false adds nothing. j must be in range even when not valid.
  Online addKey(ImplicitLocOpBuilder &pb, Online s, Value j, Value wgt,
                Value valid) {
    Value l = logit(pb, j, wgt, valid);
    Value negInf = constF32(pb, -kInf);
    Value mx = arith::MaximumFOp::create(pb, s.mx, l);
    // Nothing finite seen yet: keep the state (alpha = 1, p = 0).
    Value skip =
        arith::CmpFOp::create(pb, arith::CmpFPredicate::OEQ, mx, negInf);
    Value alpha = arith::SelectOp::create(
        pb, skip, constF32(pb, 1),
        math::ExpOp::create(pb, arith::SubFOp::create(pb, s.mx, mx)));
    Value p = arith::SelectOp::create(
        pb, skip, constF32(pb, 0),
        math::ExpOp::create(pb, arith::SubFOp::create(pb, l, mx)));
    Value den =
        arith::AddFOp::create(pb, arith::MulFOp::create(pb, s.den, alpha), p);
    Value vw = (gate == Gate::kv || gate == Gate::v)
                   ? arith::MulFOp::create(pb, p, wgt).getResult()
                   : p;
    Value next = arith::SelectOp::create(pb, skip, s.mx, mx);
    Value acc = forLoop(
        pb, zero, dv, {s.acc},
        [&](ImplicitLocOpBuilder &ab, Value c, ValueRange a) {
          Value old = extract(ab, a[0], {c});
          Value vv = castFloat(ab, extract(ab, value, {bi, g, j, c}),
                               ab.getF32Type());
          Value nv = arith::AddFOp::create(
              ab, arith::MulFOp::create(ab, old, alpha),
              arith::MulFOp::create(ab, vw, vv));
          return SmallVector<Value>{
              tensor::InsertOp::create(ab, nv, a[0], ValueRange{c})};
        })[0];
    return {next, den, acc};
  }

  ImplicitLocOpBuilder &b;
  Value q, key, value, u, scale;
  Gate gate;
  Value bi, h, g, i, zero, d, dv, m;
};

} // namespace

namespace {

using AttendFn = function_ref<Online(ImplicitLocOpBuilder &, QueryAttention &,
                                     Online, Value i, Value h, Value bi,
                                     Value g)>;

/// One forall iteration per (query, query head, batch), queries first (GPU
/// mappings give the first dimension to x, the only one whose block and
/// grid extents are not small): `attend` walks query i's keys from a fresh
/// online state. The f32 accumulators live in one query-major buffer
/// (allocated once: a GPU thread would otherwise call device malloc),
/// normalised in place and converted to the output's element type
/// afterwards. Queries are read query-major too. With `lse`, every query's
/// log-sum-exp goes to a second shared output, [B, Hq, N] f32, in *lse.
Value attendPerQuery(ImplicitLocOpBuilder &b, Value q, Value key, Value value,
                     Value u, Value scale, Gate gate,
                     RankedTensorType resultType, AttendFn attend,
                     Value *lse = nullptr) {
  Value batch = dimValue(b, q, 0), hq = dimValue(b, q, 1),
        n = dimValue(b, q, 2), hkv = dimValue(b, key, 1),
        dv = dimValue(b, value, 3);
  // Hkv = 0 only with Hq = 0 (no query runs); avoid dividing by it.
  Value group =
      arith::DivUIOp::create(b, hq, maxIndex(b, hkv, constIndex(b, 1)));
  Value qT = queryMajor(b, q);
  int64_t dyn = ShapedType::kDynamic;
  SmallVector<Value> inits = {scratchTensor(
      b, {dyn, dyn, dyn, dyn}, {batch, hq, dv, n}, b.getF32Type())};
  if (lse)
    inits.push_back(tensor::EmptyOp::create(
        b, ArrayRef<int64_t>{dyn, dyn, dyn}, b.getF32Type(),
        ValueRange{batch, hq, n}));
  SmallVector<Value> results = forallUpdate(
      b, {n, hq, batch}, inits,
      [&](ImplicitLocOpBuilder &fb, ValueRange ivs, ValueRange outs) {
        Value i = ivs[0], h = ivs[1], bi = ivs[2];
        Value g = arith::DivUIOp::create(fb, h, group);
        auto [offsets, sizes] = columnSlice(fb, bi, h, i, dv);
        QueryAttention qa(fb, qT, key, value, u, scale, gate, bi, h, g, i);
        Online s = attend(
            fb, qa, qa.start(extractRow(fb, outs[0], offsets, sizes)), i, h,
            bi, g);
        SmallVector<ForallSlice> slices = {{qa.normalize(s), offsets, sizes}};
        if (lse) {
          OpFoldResult one = fb.getIndexAttr(1);
          Value row = tensor::FromElementsOp::create(
              fb, RankedTensorType::get({1}, fb.getF32Type()),
              ValueRange{qa.logSumExp(s)});
          slices.push_back({row, {bi, h, i}, {one, one, one}});
        }
        return slices;
      });
  if (lse)
    *lse = results[1];
  return convertRows(b, results[0], resultType, {batch, hq, n, dv});
}

} // namespace

Value buildGatheredAttention(ImplicitLocOpBuilder &b, Value q, Value key,
                             Value value, Value u, Value indices, Value tau,
                             int64_t window, Value scale, Gate gate,
                             RankedTensorType resultType, Value *lse) {
  Value n = dimValue(b, q, 2), m = dimValue(b, key, 2);
  return attendPerQuery(
      b, q, key, value, u, scale, gate, resultType,
      [&](ImplicitLocOpBuilder &fb, QueryAttention &qa, Online s, Value i,
          Value, Value bi, Value g) {
        auto [lo, end] = windowOf(fb, i, m, n, window);
        s = qa.window(s, lo, end);
        return qa.selection(s, indices, extract(fb, tau, {bi, g, i}), lo,
                            end);
      },
      lse);
}

Value buildBlockAttention(ImplicitLocOpBuilder &b, Value q, Value key,
                          Value value, Value u, Value kthScore,
                          Value kthIndex, Value tau, Value unionKeys,
                          Value unionCount, int64_t window, int64_t blockSize,
                          Value scale, Gate gate,
                          RankedTensorType resultType, Value *lse) {
  Value n = dimValue(b, q, 2), m = dimValue(b, key, 2);
  return attendPerQuery(
      b, q, key, value, u, scale, gate, resultType,
      [&](ImplicitLocOpBuilder &fb, QueryAttention &qa, Online s, Value i,
          Value, Value bi, Value g) {
        Value bq = constIndex(fb, blockSize), one = constIndex(fb, 1);
        Value blk = arith::DivUIOp::create(fb, i, bq);
        Value first = arith::MulIOp::create(fb, blk, bq);
        Value last = arith::SubIOp::create(
            fb, minIndex(fb, arith::AddIOp::create(fb, first, bq), n), one);
        auto [lo, end] = windowOf(fb, i, m, n, window);
        Value runLo = windowOf(fb, first, m, n, window).first;
        Value runEnd = windowOf(fb, last, m, n, window).second;
        s = qa.windowRun(s, runLo, runEnd, lo, end);
        Value count = arith::IndexCastOp::create(
            fb, fb.getIndexType(), extract(fb, unionCount, {bi, g, blk}));
        return qa.blockUnion(s, unionKeys, blk, count, lo,
                             extract(fb, kthScore, {bi, g, i}),
                             extract(fb, kthIndex, {bi, g, i}),
                             extract(fb, tau, {bi, g, i}));
      },
      lse);
}

Value buildDecodeAttention(ImplicitLocOpBuilder &b, Value q, Value keys,
                           Value values, Value scores, Value positions,
                           Value threshold, int64_t k, Value scale, Gate gate,
                           RankedTensorType resultType) {
  Value slotCount = dimValue(b, keys, 2);
  return attendPerQuery(
      b, q, keys, values, scores, scale, gate, resultType,
      [&](ImplicitLocOpBuilder &fb, QueryAttention &qa, Online s, Value,
          Value, Value bi, Value g) {
        Value tau = arith::TruncFOp::create(
            fb, fb.getF32Type(),
            extract(fb, threshold, {bi, g, constIndex(fb, 0)}));
        Value kIdx = constIndex(fb, k);
        return qa.slots(s, slotCount, [&](ImplicitLocOpBuilder &sb, Value j) {
          Value pos = extract(sb, positions, {bi, g, j});
          Value valid = arith::CmpIOp::create(sb, arith::CmpIPredicate::sge,
                                              pos, constI32(sb, 0));
          Value selected =
              arith::CmpIOp::create(sb, arith::CmpIPredicate::ult, j, kIdx);
          Value wgt = arith::SelectOp::create(
              sb, selected,
              softWeight(sb, extract(sb, scores, {bi, g, j}), tau),
              constF32(sb, 1));
          return std::make_pair(wgt, valid);
        });
      });
}

namespace {

struct GatheredAttentionToLinalg : OpRewritePattern<GatheredAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatheredAttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value out = buildGatheredAttention(
        b, op.getQ(), op.getKey(), op.getValue(), op.getU(), op.getIndices(),
        op.getTau(), op.getWindowAttr().getInt(),
        softmaxScale(b, op.getStaticScale(), op.getQ()), op.getGate(),
        op.getOut().getType());
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct BlockAttentionToLinalg : OpRewritePattern<BlockAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BlockAttentionOp op,
                                PatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Value lse;
    SmallVector<Value> results = {buildBlockAttention(
        b, op.getQ(), op.getKey(), op.getValue(), op.getU(), op.getKthScore(),
        op.getKthIndex(), op.getTau(), op.getUnionKeys(), op.getUnionCount(),
        op.getWindowAttr().getInt(), op.getBlockSizeAttr().getInt(),
        softmaxScale(b, op.getStaticScale(), op.getQ()), op.getGate(),
        op.getOut().getType(), op.getLse() ? &lse : nullptr)};
    if (op.getLse())
      results.push_back(tensor::CastOp::create(b, op.getLse().getType(), lse));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// The causal layer: fused (block selection + block attention), or, for a
/// dynamic query length N, which sparsek-decompose cannot split (threshold
/// and topk take N from their result types), the stage builders with N from
/// `q`. Every other layer is decomposed first (Decompose.cpp, included in
/// this conversion) and its stages lowered.
struct CausalAttentionToLinalg : OpRewritePattern<AttentionOp> {
  /// Fused, it comes before sparsek-decompose's split (benefit 2) for
  /// every causal layer; unfused, only the dynamic-N layers the split
  /// leaves reach it.
  CausalAttentionToLinalg(MLIRContext *ctx, bool parallelSelection,
                          int64_t fusedBlockSize)
      : OpRewritePattern(ctx, /*benefit=*/fusedBlockSize > 0 ? 3 : 1),
        parallelSelection(parallelSelection), fusedBlockSize(fusedBlockSize) {}
  bool parallelSelection;
  /// > 0: block selection + block attention with query blocks of this
  /// size (the fused path); 0: thresholds, top-k, gathered attention.
  int64_t fusedBlockSize;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getCausal())
      return rewriter.notifyMatchFailure(op, "non-causal: decomposed");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    int64_t k = op.getKAttr().getInt(), window = op.getWindowAttr().getInt();
    Value scale = softmaxScale(b, op.getStaticScale(), op.getQ());
    // The optional log-sum-exp, cast to its result type.
    Value lse;
    auto replace = [&](Value out) {
      SmallVector<Value> results = {out};
      if (op.getLse())
        results.push_back(
            tensor::CastOp::create(b, op.getLse().getType(), lse));
      rewriter.replaceOp(op, results);
      return success();
    };
    Value *lseOut = op.getLse() ? &lse : nullptr;
    if (fusedBlockSize > 0) {
      if (std::optional<int64_t> kSel = BlockSelectOp::selectionK(
              op.getU().getType(), k, fusedBlockSize))
        return replace(buildFusedLayer(b, op, *kSel, window, scale, lseOut));
      // k + block size - 1 above 2^30: the unfused stages below.
    }
    auto [tau, idx] =
        buildSelection(b, op.getU(), k, window, dimValue(b, op.getQ(), 2),
                       op.getQ().getType().getDimSize(2), parallelSelection);
    return replace(buildGatheredAttention(
        b, op.getQ(), op.getKey(), op.getValue(), op.getU(), idx, tau, window,
        scale, op.getGate(), op.getOut().getType(), lseOut));
  }

private:
  /// block_select (N from q) + block attention.
  Value buildFusedLayer(ImplicitLocOpBuilder &b, AttentionOp op, int64_t k,
                        int64_t window, Value scale, Value *lse) const {
    SmallVector<Type, 5> types = BlockSelectOp::getResultTypesFor(
        op.getU().getType(), op.getQ().getType().getDimSize(2), k,
        fusedBlockSize);
    Value nVal = dimValue(b, op.getQ(), 2);
    auto build = parallelSelection ? buildParallelBlockSelect : buildBlockSelect;
    SmallVector<Value> sel =
        build(b, op.getU(), k, window, fusedBlockSize, nVal, types);
    return buildBlockAttention(b, op.getQ(), op.getKey(), op.getValue(),
                               op.getU(), sel[0], sel[1], sel[2], sel[3],
                               sel[4], window, fusedBlockSize, scale,
                               op.getGate(), op.getOut().getType(), lse);
  }
};

} // namespace

void populateAttentionPatterns(RewritePatternSet &patterns,
                               bool parallelSelection,
                               int64_t fusedBlockSize) {
  patterns.add<GatheredAttentionToLinalg, BlockAttentionToLinalg>(
      patterns.getContext());
  patterns.add<CausalAttentionToLinalg>(patterns.getContext(),
                                        parallelSelection, fusedBlockSize);
}

} // namespace mlir::sparsek::detail
