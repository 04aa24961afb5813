//===- DecodeKernel.cpp - sparsek.decode_step on the GPU ------------------===//
//
// One decoding step (docs/Semantics.md section 10) for a batch, in place in
// the decode state, as three launches on one stream (no host round trip,
// no allocation inside: capturable in a CUDA graph):
//
//   1. update, one warp per (batch, KV head) row: the token leaving the
//      window becomes a candidate; the lanes find the selection's smallest
//      (score, position) slot (strided scans and a butterfly), copy the
//      candidate's key and value there when it wins and the new token's
//      into its window slot; lane 0 then runs the threshold sweep of the
//      linalg lowering (Selection.cpp, the same builders, on memrefs):
//      insert, solve, drop the lowest past the band's capacity, on the
//      state's heap rows in global memory.
//   2. attention, split-KV: block (split, row) walks its share of the row's
//      k + w slots (whole tiles of 64). When the state's key and value rows
//      are contiguous and 16-byte aligned (checked on the host before the
//      launch), the tile kernel: each tile's key and value rows are read
//      once, 16 bytes a load, all loads of a tile issued first, for every
//      query head of the group (four per pass); logits, probabilities and
//      the running max and sum pass through shared memory; each thread
//      accumulates 8 output columns of its slots for the pass's heads.
//      Otherwise a warp per query head (h + 8, ... for groups over 8): its
//      lanes hold 32-element stripes of q, each slot's key and value row,
//      the dot product reduced across the warp; an online softmax per
//      warp. Partial (max, sum, acc) per (query head, split) go to a
//      scratch buffer.
//   3. combine, one block per (batch, query head), a thread per output
//      element: the splits merged, the output stored in its element type;
//      the sequence's length advanced. Not launched when the tile kernel
//      ran one split per row (large batches): its blocks then store the
//      output and advance the lengths themselves.
//
// Memory-bound: a step reads each slot's key and value once per row,
// (k + w)(D + Dv) elements per (batch, KV head) (the general-layout kernel
// once per query head, the group's reuse served by L1).
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/Format.h"

#include <limits>

namespace mlir::sparsek::gpu_kernels {

namespace {

using P = arith::CmpIPredicate;
using detail::Heap;
using detail::Sweep;

constexpr int64_t kWarp = 32;
/// The update's selection scan is unrolled (every load first) up to this
/// many slots per lane.
constexpr int64_t kUnrolledScan = 16;
/// Warps (query heads at once) per attention block.
constexpr int64_t kMaxHeadWarps = 8;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Builder : ScalarOps {
  void store(Value v, Value m, ValueRange i) {
    memref::StoreOp::create(b, v, m, i);
  }
  Value dim(Value m, int64_t i) { return memref::DimOp::create(b, m, i); }
  Value notI(Value x) {
    return arith::XOrIOp::create(b, x, arith::ConstantIntOp::create(b, 1, 1));
  }
  SmallVector<Value> loop(Value lo, Value hi, Value step, ValueRange init,
                          function_ref<SmallVector<Value>(Value, ValueRange)>
                              body) {
    auto op = scf::ForOp::create(b, lo, hi, step, init);
    OpBuilder::InsertionGuard g(b);
    if (init.empty()) { // the builder made the terminator
      b.setInsertionPoint(op.getBody()->getTerminator());
      body(op.getInductionVar(), {});
      return {};
    }
    b.setInsertionPointToStart(op.getBody());
    scf::YieldOp::create(b,
                         body(op.getInductionVar(), op.getRegionIterArgs()));
    return SmallVector<Value>(op.getResults());
  }
  Value f32(Value v) {
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(b, b.getF32Type(), v).getResult();
  }
  /// The 1-D row [i..., :] of a memref, rank-reduced.
  Value row(Value m, ValueRange lead) {
    auto type = cast<MemRefType>(m.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(lead.begin(), lead.end()), sizes,
        strides(rank, b.getIndexAttr(1));
    for (size_t i = 0; i < lead.size(); ++i)
      sizes.push_back(b.getIndexAttr(1));
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(OpFoldResult(dim(m, rank - 1)));
    auto resultType = memref::SubViewOp::inferRankReducedResultType(
        {ShapedType::kDynamic}, type, offsets, sizes, strides);
    return memref::SubViewOp::create(b, cast<MemRefType>(resultType), m,
                                     offsets, sizes, strides);
  }
  /// Butterfly across the warp: every lane gets the combination.
  Value warpReduce(Value v, function_ref<Value(Value, Value)> combine) {
    for (int32_t off = 16; off >= 1; off /= 2)
      v = combine(v, shuffleXor(b, v, off));
    return v;
  }
};

/// A gpu.launch of `blocks` x `threads`; `body(tid, bid)` inside.
void launch(ImplicitLocOpBuilder &b, Value blocks, Value threads,
            function_ref<void(Value, Value)> body) {
  Value one = constIndex(b, 1);
  auto op = gpu::LaunchOp::create(b, blocks, one, one, threads, one, one);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&op.getBody().front());
  body(op.getThreadIds().x, op.getBlockIds().x);
  gpu::TerminatorOp::create(b);
}

/// The operands, by name (decodeStepStubOperandTypes' order).
struct Operands {
  Value q, key, value, u, out, keys, values, scores, positions, bandScores,
      bandTags, threshold, counts, lengths, partial;
  explicit Operands(ArrayRef<Value> o)
      : q(o[0]), key(o[1]), value(o[2]), u(o[3]), out(o[4]), keys(o[5]),
        values(o[6]), scores(o[7]), positions(o[8]), bandScores(o[9]),
        bandTags(o[10]), threshold(o[11]), counts(o[12]), lengths(o[13]),
        partial(o[14]) {}
};

/// lengths[bi] clamped to [0, 2^31 - 2] (p + 1 stays an i32).
Value position(Builder &h, Value lengths, Value bi) {
  Value p = h.load(lengths, {bi});
  return arith::MinSIOp::create(
      h.b,
      arith::MaxSIOp::create(h.b, p, constI32(h.b, 0)),
      constI32(h.b, std::numeric_limits<int32_t>::max() - 1));
}

/// lengths[bi] advanced by one (by the one thread of the step that does
/// it, after the update's reads).
void advanceLength(Builder &h, Value lengths, Value bi) {
  Value p = position(h, lengths, bi);
  h.store(arith::AddIOp::create(h.b, p, constI32(h.b, 1)), lengths, {bi});
}

/// out[bi, hq, 0, c] = acc / sum in out's element type (0 where nothing
/// had weight: sum <= 0).
void storeOutput(Builder &h, Value out, Value acc, Value sum, Value bi,
                 Value hq, Value c) {
  ImplicitLocOpBuilder &b = h.b;
  Value positive = h.cmpF(arith::CmpFPredicate::OGT, sum, constF32(b, 0));
  Value inv = h.sel(positive, arith::DivFOp::create(b, constF32(b, 1), sum),
                    constF32(b, 0));
  Value v = arith::MulFOp::create(b, acc, inv);
  Type elem = cast<MemRefType>(out.getType()).getElementType();
  h.store(elem.isF32() ? v : arith::TruncFOp::create(b, elem, v).getResult(),
          out, {bi, hq, h.idx(0), c});
}

/// Prefetches (into L1) the lines of 1-D memref `row`'s first `size`
/// 4-byte elements, a line per lane at a time.
void prefetchL1(Builder &h, Value row, Value size, Value lane) {
  ImplicitLocOpBuilder &b = h.b;
  auto md = memref::ExtractStridedMetadataOp::create(b, row);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, row);
  Value first = h.add(ptr, h.mul(md.getOffset(), h.idx(4)));
  Value bytes = h.mul(h.mul(size, md.getStrides()[0]), h.idx(4));
  // The lines overlapping [first, first + bytes): each address lies in a
  // line holding the row's data.
  Value lines = h.divu(
      h.add(h.add(h.remu(first, h.idx(128)), bytes), h.idx(127)), h.idx(128));
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  h.loop(lane, lines, h.idx(kWarp), {}, [&](Value line, ValueRange) {
    Value at = arith::IndexCastOp::create(
        b, b.getI64Type(), h.add(first, h.mul(line, h.idx(128))));
    NVVM::PrefetchOp::create(
        b,
        NVVM::PrefetchCacheLevelAttr::get(b.getContext(),
                                          NVVM::PrefetchCacheLevel::L1),
        /*evictPriority=*/nullptr, LLVM::IntToPtrOp::create(b, ptrType, at),
        /*predicate=*/Value(), /*tensormap=*/nullptr, /*uniform=*/nullptr,
        /*in_param_space=*/nullptr);
    return SmallVector<Value>{};
  });
}

/// 1. The state update of row (bi, g), one warp. Its time is a chain of
/// round trips to memory, so every load that does not depend on the
/// sequence's length is issued first (the new token's key and value, the
/// selection's scores and positions, the counts and the threshold sums),
/// then those at the length's window slot, all before the first store
/// (loads after a store to another buffer would wait: the compiler cannot
/// tell the buffers apart); the stores are unconditional where they can
/// be (a slot written twice in order), so that no load sinks into a
/// branch behind the selection's reduction.
void updateRow(Builder &h, const DecodeKernelConfig &cfg, const Operands &o,
               Value lane, Value bi, Value g) {
  ImplicitLocOpBuilder &b = h.b;
  int64_t k = cfg.k, w = cfg.window;
  Value zero = h.idx(0), kIdx = h.idx(k);
  Value p32 = position(h, o.lengths, bi);
  Value p = h.toIdx(p32);
  Value uNew = h.load(o.u, {bi, g, zero});
  // The sweep's state (lane 0 uses it; every lane loads the same words).
  SmallVector<Value> counts, thr;
  for (int64_t i = 0; i < 3; ++i) {
    counts.push_back(h.load(o.counts, {bi, g, h.idx(i)}));
    thr.push_back(h.load(o.threshold, {bi, g, h.idx(i)}));
  }
  // The new token's key and value columns of this lane.
  struct Col {
    Value cache, c, fresh, cand;
  };
  SmallVector<Col> cols;
  for (Value cache : {o.keys, o.values}) {
    Value input = cache == o.keys ? o.key : o.value;
    for (int64_t i = 0; i < cfg.d / kWarp; ++i) {
      Value c = h.add(lane, h.idx(i * kWarp));
      cols.push_back({cache, c, h.load(input, {bi, g, zero, c}), Value()});
    }
  }

  // The selection's smallest (score, position): strided scans, then a
  // butterfly (ties between lanes only among the +inf sentinels).
  SmallVector<Value> mins = {
      constF32(b, kInf), constI32(b, std::numeric_limits<int32_t>::max()),
      constI32(b, 0)};
  auto fold = [&](Value j, Value sc, Value ps, ValueRange a) {
    Value less = detail::pairLess(b, sc, ps, a[0], a[1]);
    return SmallVector<Value>{h.sel(less, sc, a[0]), h.sel(less, ps, a[1]),
                              h.sel(less, h.toI32(j), a[2])};
  };
  SmallVector<std::array<Value, 3>> got;
  if (k <= kUnrolledScan * kWarp) {
    // All of the lane's loads first (one round trip), folded below.
    for (int64_t i = 0; i * kWarp < k; ++i) {
      Value j = h.add(lane, h.idx(i * kWarp));
      Value in = h.cmpI(P::ult, j, kIdx);
      Value js = h.sel(in, j, zero);
      got.push_back({j, h.load(o.scores, {bi, g, js}),
                     h.load(o.positions, {bi, g, js})});
    }
  }

  // The candidate: the token leaving the window, or the new one; its key
  // and value rows (loaded now, used by the stores below).
  Value has, cu, cpos, ws;
  if (w == 0) {
    has = arith::ConstantIntOp::create(b, 1, 1);
    cu = uNew;
    cpos = p32;
    for (Col &col : cols)
      col.cand = col.fresh;
  } else {
    Value wIdx = h.idx(w);
    ws = h.add(kIdx, h.remu(p, wIdx));
    has = h.cmpI(P::uge, p, wIdx);
    cu = h.load(o.scores, {bi, g, ws});
    cpos = h.load(o.positions, {bi, g, ws});
    for (Col &col : cols)
      col.cand = h.load(col.cache, {bi, g, ws, col.c});
  }

  Value seen = h.sub(h.maxI(p, h.idx(w)), h.idx(w));
  Value free = h.cmpI(P::ult, seen, kIdx);
  if (!got.empty()) {
    for (int64_t i = 0; i < (int64_t)got.size(); ++i) {
      SmallVector<Value> next = fold(got[i][0], got[i][1], got[i][2], mins);
      if ((i + 1) * kWarp > k) { // the last round: lanes past k keep theirs
        Value in = h.cmpI(P::ult, got[i][0], kIdx);
        for (int n = 0; n < 3; ++n)
          next[n] = h.sel(in, next[n], mins[n]);
      }
      mins = next;
    }
  } else {
    mins = h.loop(lane, kIdx, h.idx(kWarp), mins,
                  [&](Value j, ValueRange a) -> SmallVector<Value> {
                    return fold(j, h.load(o.scores, {bi, g, j}),
                                h.load(o.positions, {bi, g, j}), a);
                  });
  }
  for (int32_t off = 16; off >= 1; off /= 2) {
    auto shfl = [&](Value v) { return shuffleXor(b, v, off); };
    Value os = shfl(mins[0]), op = shfl(mins[1]), oj = shfl(mins[2]);
    Value less = h.orI(detail::pairLess(b, os, op, mins[0], mins[1]),
                       h.andI(h.andI(h.cmpF(arith::CmpFPredicate::OEQ, os,
                                            mins[0]),
                                     h.cmpI(P::eq, op, mins[1])),
                              h.cmpI(P::slt, oj, mins[2])));
    mins = {h.sel(less, os, mins[0]), h.sel(less, op, mins[1]),
            h.sel(less, oj, mins[2])};
  }
  Value beats = h.cmpF(arith::CmpFPredicate::OGE, cu, mins[0]);
  Value target = h.sel(free, h.minI(seen, h.idx(k - 1)), h.toIdx(mins[2]));
  Value move = h.andI(has, h.orI(free, beats));

  // The stores. With a window, the candidate goes to `target` when it
  // moves and otherwise to its own window slot, which the new token then
  // overwrites (same lane, program order): no branch.
  if (w > 0) {
    Value dst = h.sel(move, target, ws);
    for (Col &col : cols)
      h.store(col.cand, col.cache, {bi, g, dst, col.c});
    for (Col &col : cols)
      h.store(col.fresh, col.cache, {bi, g, ws, col.c});
    h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
      h.store(cu, o.scores, {bi, g, dst});
      h.store(cpos, o.positions, {bi, g, dst});
      h.store(uNew, o.scores, {bi, g, ws});
      h.store(p32, o.positions, {bi, g, ws});
    });
  } else {
    h.ifThen(move, [&] {
      for (Col &col : cols)
        h.store(col.cand, col.cache, {bi, g, target, col.c});
    });
    h.ifThen(h.andI(move, h.cmpI(P::eq, lane, zero)), [&] {
      h.store(cu, o.scores, {bi, g, target});
      h.store(cpos, o.positions, {bi, g, target});
    });
  }

  // The threshold: the candidate's score (or nothing) into the sweep, tau
  // raised to the new threshold, capacity k + Cb live scores. The heaps'
  // sizes, clamped so that together they never exceed the capacity.
  Value len = h.dim(o.bandScores, 3);
  Value live = h.sub(len, h.idx(1));
  auto sizeOf = [&](Value count, Value limit) {
    return h.minI(h.maxI(h.toIdx(count), zero), limit);
  };
  Value capSize = sizeOf(counts[0], live);
  Value midSize = sizeOf(counts[1], h.sub(live, capSize));
  // Lane 0's sweep over heaps held in `rows` (cap keys, cap tags, mid keys,
  // mid tags); the threshold sums and counts go to the state.
  auto sweep = [&](ArrayRef<Value> rows) {
    Heap cap{rows[0], rows[1], capSize}, mid{rows[2], rows[3], midSize};
    Value tau = thr[0];
    Sweep s{cap, mid, thr[2], thr[1]};
    Value offered = h.sel(has, cu, constF32(b, -kInf));
    s = detail::sweepInsert(b, s, tau, offered, cpos);
    std::tie(s, tau) = detail::sweepSolve(b, s, tau, k);
    // Past the capacity (at most one over): drop the lowest live score.
    Value over = h.cmpI(P::ugt, h.add(s.cap.size, s.mid.size), live);
    SmallVector<Value> dropped = detail::ifElse(
        b, over, s.types(),
        [&](ImplicitLocOpBuilder &db) {
          return detail::sweepDropLowest(db, s).pack();
        },
        [&](ImplicitLocOpBuilder &) { return s.pack(); });
    s = Sweep::unpack(dropped);
    Value overflow = h.sel(
        h.orI(over, h.cmpI(P::ne, counts[2], constI32(b, 0))), constI32(b, 1),
        constI32(b, 0));
    h.store(tau, o.threshold, {bi, g, h.idx(0)});
    h.store(s.anchor, o.threshold, {bi, g, h.idx(1)});
    h.store(s.fracSum, o.threshold, {bi, g, h.idx(2)});
    h.store(h.toI32(s.cap.size), o.counts, {bi, g, h.idx(0)});
    h.store(h.toI32(s.mid.size), o.counts, {bi, g, h.idx(1)});
    h.store(overflow, o.counts, {bi, g, h.idx(2)});
  };
  SmallVector<Value> global = {h.row(o.bandScores, {bi, g, zero}),
                               h.row(o.bandTags, {bi, g, zero}),
                               h.row(o.bandScores, {bi, g, h.idx(1)}),
                               h.row(o.bandTags, {bi, g, h.idx(1)})};
  // The heaps' live entries brought into L1 by the whole warp (a
  // prefetch per 128-byte line), so that lane 0's chain of dependent
  // accesses in the sweep mostly hits L1 instead of L2.
  for (auto [row, size] : {std::make_pair(global[0], capSize),
                           std::make_pair(global[1], capSize),
                           std::make_pair(global[2], midSize),
                           std::make_pair(global[3], midSize)})
    prefetchL1(h, row, size, lane);
  h.ifThen(h.cmpI(P::eq, lane, zero), [&] { sweep(global); });
}

/// 2. The attention of query head `hq` over slots [lo, hi) of row (bi, g):
/// online softmax per warp, lanes on 32-element stripes; the partial into
/// partial[bi, hq, split, :] = (max, sum, acc...).
void attendSplit(Builder &h, const DecodeKernelConfig &cfg, const Operands &o,
                 Value lane, Value bi, Value g, Value hq, Value split,
                 Value lo, Value hi) {
  ImplicitLocOpBuilder &b = h.b;
  int64_t e = cfg.d / kWarp; // elements per lane (D = Dv)
  Type f32 = b.getF32Type();
  Value zero = h.idx(0), kIdx = h.idx(cfg.k);
  Value scale = constF32(b, cfg.scale);
  Value tau = arith::TruncFOp::create(
      b, f32, h.load(o.threshold, {bi, g, zero}));
  SmallVector<Value> qv;
  auto col = [&](int64_t i) { return h.add(lane, h.idx(i * kWarp)); };
  for (int64_t i = 0; i < e; ++i)
    qv.push_back(h.f32(h.load(o.q, {bi, hq, zero, col(i)})));
  SmallVector<Value> init = {constF32(b, -kInf), constF32(b, 0)};
  for (int64_t i = 0; i < e; ++i)
    init.push_back(constF32(b, 0));
  SmallVector<Value> fin = h.loop(
      lo, hi, h.idx(1), init, [&](Value j, ValueRange a) -> SmallVector<Value> {
        Value pos = h.load(o.positions, {bi, g, j});
        Value valid = h.cmpI(P::sge, pos, constI32(b, 0));
        Value wgt = h.sel(h.cmpI(P::ult, j, kIdx),
                          detail::softWeight(
                              b, h.load(o.scores, {bi, g, j}), tau),
                          constF32(b, 1));
        Value dot = constF32(b, 0);
        for (int64_t i = 0; i < e; ++i)
          dot = math::FmaOp::create(
              b, qv[i], h.f32(h.load(o.keys, {bi, g, j, col(i)})), dot);
        dot = h.warpReduce(dot, [&](Value x, Value y) {
          return arith::AddFOp::create(b, x, y);
        });
        Value l = detail::gatedLogit(b, cfg.gate, scale, dot, wgt, valid);
        Value mx = arith::MaximumFOp::create(b, a[0], l);
        Value skip = h.cmpF(arith::CmpFPredicate::OEQ, mx, constF32(b, -kInf));
        Value alpha = h.sel(skip, constF32(b, 1),
                            math::ExpOp::create(
                                b, arith::SubFOp::create(b, a[0], mx)));
        Value pw = h.sel(skip, constF32(b, 0),
                         math::ExpOp::create(
                             b, arith::SubFOp::create(b, l, mx)));
        Value den = arith::AddFOp::create(
            b, arith::MulFOp::create(b, a[1], alpha), pw);
        Value vw = (cfg.gate == Gate::kv || cfg.gate == Gate::v)
                       ? arith::MulFOp::create(b, pw, wgt).getResult()
                       : pw;
        SmallVector<Value> next = {h.sel(skip, a[0], mx), den};
        for (int64_t i = 0; i < e; ++i) {
          Value vv = h.f32(h.load(o.values, {bi, g, j, col(i)}));
          next.push_back(arith::AddFOp::create(
              b, arith::MulFOp::create(b, a[2 + i], alpha),
              arith::MulFOp::create(b, vw, vv)));
        }
        return next;
      });
  h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
    h.store(fin[0], o.partial, {bi, hq, split, zero});
    h.store(fin[1], o.partial, {bi, hq, split, h.idx(1)});
  });
  for (int64_t i = 0; i < e; ++i)
    h.store(fin[2 + i], o.partial, {bi, hq, split, h.add(col(i), h.idx(2))});
}

/// 2'. The attention of block (split, row (bi, g)) over slots [lo, hi),
/// every query head of the group, in tiles of kTile slots; the fast path
/// for key/value rows of 16-byte-aligned contiguous elements. Each tile
/// reads each key and value row once, for all the group's heads:
///   A. all loads of the tile first (thread t: half t % 2 of slot t / 2's
///      key, 16 bytes a load; 16 bytes of column group t % CG of the value
///      rows of slot group t / CG); per head, the dot product of the key
///      half with q (in shared memory), the halves joined by a shuffle,
///      the gated logit into shared memory;
///   M. warp h: head h's tile maximum, running max and sum (shared),
///      the probabilities (times the gate weight for value gates) back;
///   B. each thread's accumulators (kHeadsPerPass heads x 8 columns)
///      rescaled and advanced over its slots.
/// The slot groups' accumulators are summed (shuffles, then shared memory
/// across warps) into partial[bi, hq, split, :] = (max, sum, acc...).
/// Groups of more than kHeadsPerPass heads take several passes.
struct TileShared {
  Value qs, ps, wts, stat, red; // [H][D], [H][T], [T], [3][H], [W][H][D]
};
constexpr int64_t kTile = DecodeKernelConfig::kTileSlots;
constexpr int64_t kHeadsPerPass = 4;
constexpr int64_t kTileThreads = 128;
// Phase M: warp h owns head h; each lane two slots of the tile.
static_assert(kHeadsPerPass == kTileThreads / kWarp && kTile == 2 * kWarp);

void attendTiles(Builder &h, const DecodeKernelConfig &cfg, const Operands &o,
                 const TileShared &sh, const FlatView &fk, const FlatView &fv,
                 Value tid, Value bi, Value g, Value group, Value split,
                 Value lo, Value hi, Value direct) {
  ImplicitLocOpBuilder &b = h.b;
  const int64_t D = cfg.d, H = kHeadsPerPass, T = kTile;
  const int64_t CG = D / 8, SG = kTileThreads / CG, perThread = T / SG;
  const int64_t halfD = D / 2, halfChunks = halfD / 8;
  Type f32 = b.getF32Type();
  auto v8e = VectorType::get({8}, cfg.elem);
  auto v8f = VectorType::get({8}, f32);
  auto v4f = VectorType::get({4}, f32);
  Value zero = h.idx(0), kIdx = h.idx(cfg.k);
  Value negInf = constF32(b, -kInf), zeroF = constF32(b, 0);
  Value scale = constF32(b, cfg.scale);
  Value warp = h.divu(tid, h.idx(kWarp)), lane = h.remu(tid, h.idx(kWarp));
  Value half = h.remu(tid, h.idx(2)), slotA = h.divu(tid, h.idx(2));
  Value cg = h.remu(tid, h.idx(CG)), sg = h.divu(tid, h.idx(CG));
  Value tau = arith::TruncFOp::create(
      b, f32, h.load(o.threshold, {bi, g, zero}));
  bool valueGate = cfg.gate == Gate::kv || cfg.gate == Gate::v;
  auto barrier = [&] { gpu::BarrierOp::create(b); };
  auto vload = [&](VectorType t, Value m, ValueRange i, int64_t align) {
    auto ld = vector::LoadOp::create(b, t, m, i);
    ld.setAlignment(align);
    return ld.getResult();
  };
  auto extract = [&](Value v, int64_t i) -> Value {
    return vector::ExtractOp::create(b, v, ArrayRef<int64_t>{i});
  };
  // 8 elements to f32. bf16 is the upper half of an f32: a shift (even
  // elements, the low halves of each 32-bit word) or a mask (odd ones) on
  // the loaded words, one integer op per element (the conversion
  // otherwise takes a split, a cvt.u32.u16 and a shift); exact, like extf.
  auto widen = [&](Value v) -> Value {
    if (!cfg.elem.isBF16())
      return arith::ExtFOp::create(b, v8f, v);
    auto v4i = VectorType::get({4}, b.getI32Type());
    Value w = vector::BitCastOp::create(b, v4i, v);
    auto splat = [&](uint32_t x) -> Value {
      return arith::ConstantOp::create(
          b, v4i, DenseElementsAttr::get(v4i, b.getI32IntegerAttr(x)));
    };
    Value even = vector::BitCastOp::create(
        b, v4f, arith::ShLIOp::create(b, w, splat(16)));
    Value odd = vector::BitCastOp::create(
        b, v4f, arith::AndIOp::create(b, w, splat(0xffff0000u)));
    return vector::ShuffleOp::create(b, even, odd,
                                     ArrayRef<int64_t>{0, 4, 1, 5, 2, 6, 3, 7});
  };
  // A row's first element in a flat view.
  auto rowBase = [&](const FlatView &f, Value j) {
    return f.linear(b, ValueRange{bi, g, j});
  };

  h.loop(zero, group, h.idx(H), {}, [&](Value h0, ValueRange) {
    Value nh = h.minI(h.idx(H), h.sub(group, h0));
    Value head0 = h.add(h.mul(g, group), h0);
    // q of the pass's heads (zeros past nh), the running statistics.
    h.loop(tid, h.idx(H * D), h.idx(kTileThreads), {}, [&](Value i, ValueRange) {
      Value hh = h.divu(i, h.idx(D)), c = h.remu(i, h.idx(D));
      Value safe = h.add(head0, h.minI(hh, h.sub(nh, h.idx(1))));
      Value x = h.f32(h.load(o.q, {bi, safe, zero, c}));
      h.store(h.sel(h.cmpI(P::ult, hh, nh), x, zeroF), sh.qs, {hh, c});
      return SmallVector<Value>{};
    });
    h.ifThen(h.cmpI(P::ult, tid, h.idx(H)), [&] {
      h.store(negInf, sh.stat, {zero, tid});
      h.store(zeroF, sh.stat, {h.idx(1), tid});
    });
    barrier();

    SmallVector<Value> init(H, arith::ConstantOp::create(
                                   b, v8f, DenseElementsAttr::get(
                                               v8f, b.getF32FloatAttr(0))));
    SmallVector<Value> acc = h.loop(
        lo, hi, h.idx(T), init,
        [&](Value t0, ValueRange a) -> SmallVector<Value> {
          // A. Loads: this thread's key half and value chunks.
          Value jA = h.add(t0, slotA);
          Value inA = h.cmpI(P::ult, jA, hi);
          Value jAs = h.sel(inA, jA, lo);
          Value kb = h.add(rowBase(fk, jAs), h.mul(half, h.idx(halfD)));
          SmallVector<Value> kch, vch;
          for (int64_t c = 0; c < halfChunks; ++c)
            kch.push_back(vload(v8e, fk.view, {h.add(kb, h.idx(c * 8))}, 16));
          for (int64_t s = 0; s < perThread; ++s) {
            Value jB = h.add(t0, h.add(sg, h.idx(s * SG)));
            Value jBs = h.sel(h.cmpI(P::ult, jB, hi), jB, lo);
            vch.push_back(vload(v8e, fv.view,
                                {h.add(rowBase(fv, jBs), h.mul(cg, h.idx(8)))},
                                16));
          }
          Value pos = h.load(o.positions, {bi, g, jAs});
          Value valid = h.andI(inA, h.cmpI(P::sge, pos, constI32(b, 0)));
          Value wgt = h.sel(h.cmpI(P::ult, jAs, kIdx),
                            detail::softWeight(
                                b, h.load(o.scores, {bi, g, jAs}), tau),
                            constF32(b, 1));
          Value first = h.cmpI(P::eq, half, zero);
          h.ifThen(first, [&] { h.store(wgt, sh.wts, {slotA}); });
          // Chunk by chunk (8 elements converted at a time), the dot
          // products of all the pass's heads (zeros past nh).
          SmallVector<Value> dots(H, zeroF);
          for (int64_t c = 0; c < halfChunks; ++c) {
            Value kf = widen(kch[c]);
            Value col = h.add(h.mul(half, h.idx(halfD)), h.idx(c * 8));
            for (int64_t hh = 0; hh < H; ++hh) {
              Value q0 = vload(v4f, sh.qs, {h.idx(hh), col}, 16);
              Value q1 =
                  vload(v4f, sh.qs, {h.idx(hh), h.add(col, h.idx(4))}, 16);
              for (int64_t e = 0; e < 8; ++e)
                dots[hh] = math::FmaOp::create(
                    b, extract(kf, e), extract(e < 4 ? q0 : q1, e % 4),
                    dots[hh]);
            }
          }
          for (int64_t hh = 0; hh < H; ++hh) {
            Value dot = arith::AddFOp::create(b, dots[hh],
                                              shuffleXor(b, dots[hh], 1));
            Value l = detail::gatedLogit(b, cfg.gate, scale, dot, wgt, valid);
            h.ifThen(first, [&] { h.store(l, sh.ps, {h.idx(hh), slotA}); });
          }
          barrier();

          // M. Warp w: head w's statistics and probabilities.
          h.ifThen(h.cmpI(P::ult, warp, h.idx(H)), [&] {
            Value hw = warp;
            Value on = h.cmpI(P::ult, hw, nh);
            Value l0 = h.sel(on, h.load(sh.ps, {hw, lane}), negInf);
            Value l1 = h.sel(on, h.load(sh.ps, {hw, h.add(lane, h.idx(32))}),
                             negInf);
            Value tmax = h.warpReduce(fastMaxF(b, l0, l1), [&](Value x, Value y) {
              return fastMaxF(b, x, y);
            });
            Value mold = h.load(sh.stat, {zero, hw});
            Value dold = h.load(sh.stat, {h.idx(1), hw});
            Value mnew = fastMaxF(b, mold, tmax);
            Value skip = h.cmpF(arith::CmpFPredicate::OEQ, mnew, negInf);
            auto expOf = [&](Value x) {
              return h.sel(skip, zeroF,
                           math::ExpOp::create(b, arith::SubFOp::create(b, x, mnew)));
            };
            Value alpha = h.sel(skip, constF32(b, 1), expOf(mold));
            Value p0 = expOf(l0), p1 = expOf(l1);
            Value sum = h.warpReduce(arith::AddFOp::create(b, p0, p1),
                                     [&](Value x, Value y) {
                                       return arith::AddFOp::create(b, x, y);
                                     });
            if (valueGate) {
              p0 = arith::MulFOp::create(b, p0, h.load(sh.wts, {lane}));
              p1 = arith::MulFOp::create(
                  b, p1, h.load(sh.wts, {h.add(lane, h.idx(32))}));
            }
            h.store(p0, sh.ps, {hw, lane});
            h.store(p1, sh.ps, {hw, h.add(lane, h.idx(32))});
            // Every lane has read the statistics before lane 0 replaces
            // them (a warp barrier: racecheck sees no hazard either).
            NVVM::SyncWarpOp::create(b, constI32(b, -1));
            h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
              h.store(h.sel(skip, mold, mnew), sh.stat, {zero, hw});
              h.store(arith::AddFOp::create(
                          b, arith::MulFOp::create(b, dold, alpha), sum),
                      sh.stat, {h.idx(1), hw});
              h.store(alpha, sh.stat, {h.idx(2), hw});
            });
          });
          barrier();

          // B. Rescale, then this thread's slots of the tile.
          SmallVector<Value> next;
          for (int64_t hh = 0; hh < H; ++hh) {
            Value al = h.load(sh.stat, {h.idx(2), h.idx(hh)});
            next.push_back(arith::MulFOp::create(
                b, a[hh], vector::BroadcastOp::create(b, v8f, al)));
          }
          for (int64_t s = 0; s < perThread; ++s) {
            Value vf = widen(vch[s]);
            Value slot = h.add(sg, h.idx(s * SG));
            for (int64_t hh = 0; hh < H; ++hh) {
              Value p = h.load(sh.ps, {h.idx(hh), slot});
              next[hh] = vector::FMAOp::create(
                  b, vector::BroadcastOp::create(b, v8f, p), vf, next[hh]);
            }
          }
          barrier();
          return next;
        });

    // The slot groups' sums: shuffles inside a warp, then shared memory.
    for (int32_t off = CG; off < kWarp; off *= 2)
      for (int64_t hh = 0; hh < H; ++hh) {
        Value v = acc[hh];
        for (int64_t e = 0; e < 8; ++e) {
          Value x = extract(v, e);
          v = vector::InsertOp::create(
              b, arith::AddFOp::create(b, x, shuffleXor(b, x, off)), v,
              ArrayRef<int64_t>{e});
        }
        acc[hh] = v;
      }
    h.ifThen(h.cmpI(P::ult, lane, h.idx(CG)), [&] {
      for (int64_t hh = 0; hh < H; ++hh) {
        Value col = h.mul(cg, h.idx(8));
        for (int64_t part = 0; part < 2; ++part) {
          SmallVector<Value> four;
          for (int64_t e = 0; e < 4; ++e)
            four.push_back(extract(acc[hh], part * 4 + e));
          Value v = vector::FromElementsOp::create(b, v4f, four);
          vector::StoreOp::create(b, v, sh.red,
                                  ValueRange{warp, h.idx(hh),
                                             h.add(col, h.idx(part * 4))})
              .setAlignment(16);
        }
      }
    });
    barrier();
    h.loop(tid, h.mul(nh, h.idx(D)), h.idx(kTileThreads), {},
           [&](Value i, ValueRange) {
             Value hh = h.divu(i, h.idx(D)), c = h.remu(i, h.idx(D));
             Value sum = zeroF;
             for (int64_t w = 0; w < kTileThreads / kWarp; ++w)
               sum = arith::AddFOp::create(
                   b, sum, h.load(sh.red, {h.idx(w), hh, c}));
             Value hq = h.add(head0, hh);
             auto pick = scf::IfOp::create(b, direct, /*withElseRegion=*/true);
             {
               OpBuilder::InsertionGuard guard(b);
               // One split: the output itself, as combine() would give it
               // (acc times 1 / sum, 0 where nothing had weight).
               b.setInsertionPoint(pick.thenBlock()->getTerminator());
               storeOutput(h, o.out, sum, h.load(sh.stat, {h.idx(1), hh}), bi,
                           hq, c);
               b.setInsertionPoint(pick.elseBlock()->getTerminator());
               h.store(sum, o.partial, {bi, hq, split, h.add(c, h.idx(2))});
             }
             return SmallVector<Value>{};
           });
    h.ifThen(h.andI(h.cmpI(P::ult, tid, nh), h.notI(direct)), [&] {
      Value hq = h.add(head0, tid);
      h.store(h.load(sh.stat, {zero, tid}), o.partial, {bi, hq, split, zero});
      h.store(h.load(sh.stat, {h.idx(1), tid}), o.partial,
              {bi, hq, split, h.idx(1)});
    });
    barrier();
    return SmallVector<Value>{};
  });
}

/// Whether `m`'s rows suit attendTiles' 16-byte loads: unit innermost
/// stride, every other stride, the offset and the base 16-byte multiples.
Value vectorizable(Builder &h, Value m) {
  ImplicitLocOpBuilder &b = h.b;
  auto md = memref::ExtractStridedMetadataOp::create(b, m);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, m);
  Value ok = h.cmpI(P::eq, md.getStrides()[3], h.idx(1));
  Value bits = md.getOffset();
  for (int i = 0; i < 3; ++i)
    bits = arith::OrIOp::create(b, bits, md.getStrides()[i]);
  ok = h.andI(ok, h.cmpI(P::eq, h.remu(bits, h.idx(8)), h.idx(0)));
  return h.andI(ok, h.cmpI(P::eq, h.remu(ptr, h.idx(16)), h.idx(0)));
}

/// 3. Element c of query head hq's output: the splits merged.
void combine(Builder &h, const Operands &o, Value c, Value bi, Value hq) {
  ImplicitLocOpBuilder &b = h.b;
  Value splits = h.dim(o.partial, 2);
  Value negInf = constF32(b, -kInf);
  Value mx = h.loop(h.idx(0), splits, h.idx(1), {negInf},
                    [&](Value s, ValueRange a) -> SmallVector<Value> {
                      return {arith::MaximumFOp::create(
                          b, a[0], h.load(o.partial, {bi, hq, s, h.idx(0)}))};
                    })[0];
  Value none = h.cmpF(arith::CmpFPredicate::OEQ, mx, negInf);
  SmallVector<Value> sums = h.loop(
      h.idx(0), splits, h.idx(1), {constF32(b, 0), constF32(b, 0)},
      [&](Value s, ValueRange a) -> SmallVector<Value> {
        Value ms = h.load(o.partial, {bi, hq, s, h.idx(0)});
        Value f = h.sel(h.orI(none, h.cmpF(arith::CmpFPredicate::OEQ, ms,
                                           negInf)),
                        constF32(b, 0),
                        math::ExpOp::create(b, arith::SubFOp::create(b, ms, mx)));
        Value den = h.load(o.partial, {bi, hq, s, h.idx(1)});
        Value acc = h.load(o.partial, {bi, hq, s, h.add(c, h.idx(2))});
        return {arith::AddFOp::create(b, a[0], arith::MulFOp::create(b, den, f)),
                arith::AddFOp::create(b, a[1], arith::MulFOp::create(b, acc, f))};
      });
  storeOutput(h, o.out, sums[1], sums[0], bi, hq, c);
}

} // namespace

std::optional<DecodeKernelConfig>
DecodeKernelConfig::create(Type elem, int64_t d, int64_t dv, int64_t k,
                           int64_t window, double scale, Gate gate) {
  if (!(elem.isF16() || elem.isBF16()) || d != dv || (d != 64 && d != 128) ||
      k < 1 || window < 0 || !(scale > 0))
    return std::nullopt;
  return DecodeKernelConfig{elem, d, k, window, scale, gate};
}

SmallVector<Type> decodeStepStubOperandTypes(MLIRContext *ctx, Type elem) {
  Type f32 = Float32Type::get(ctx), f64 = Float64Type::get(ctx),
       i32 = IntegerType::get(ctx, 32);
  auto t = [&](int64_t rank, Type e) {
    return dynStridedMemRef(ctx, rank, e);
  };
  return {t(4, elem), t(4, elem), t(4, elem), t(3, f32), // q key value u
          t(4, elem),                                    // out
          t(4, elem), t(4, elem), t(3, f32),  t(3, i32), // slots
          t(4, f32),  t(4, i32),                         // band heaps
          t(3, f64),  t(3, i32),  t(1, i32),             // thr counts lengths
          t(4, f32)};                                    // partials
}

void buildDecodeStepLaunches(ImplicitLocOpBuilder &b, ModuleOp module,
                             const DecodeKernelConfig &cfg,
                             ArrayRef<Value> operands) {
  Operands o(operands);
  Builder h{b};
  Value batch = h.dim(o.keys, 0), hkv = h.dim(o.keys, 1),
        hq = h.dim(o.q, 1), slots = h.dim(o.keys, 2),
        splits = h.dim(o.partial, 2);
  Value rows = h.mul(batch, hkv);
  // Hkv = 0 only with Hq = 0 (no query runs); avoid dividing by it.
  Value group = h.divu(hq, h.maxI(hkv, h.idx(1)));

  // 1. Update: a warp per row.
  launch(b, rows, h.idx(kWarp), [&](Value tid, Value bid) {
    Value bi = h.divu(bid, hkv), g = h.remu(bid, hkv);
    updateRow(h, cfg, o, tid, bi, g);
  });

  // 2. Attention: a block per (row, split). Rows of aligned contiguous
  // elements: tiles of slots for all the group's heads (attendTiles);
  // others: a warp per query head.
  Value fast = h.andI(vectorizable(h, o.keys), vectorizable(h, o.values));
  std::string base = (Twine("sparsek_decode_tile_") +
                      (cfg.elem.isBF16() ? "bf16" : "f16") + "_d" +
                      Twine(cfg.d))
                         .str();
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Type f32 = b.getF32Type();
  auto shared = [&](StringRef suffix, ArrayRef<int64_t> shape) {
    std::string name = (base + suffix).str();
    auto type = MemRefType::get(shape, f32, MemRefLayoutAttrInterface{}, wg);
    declareWorkgroupGlobal(module, b.getLoc(), name, type, 16);
    return [&b, name, type] {
      return memref::GetGlobalOp::create(b, type, name).getResult();
    };
  };
  const int64_t H = kHeadsPerPass;
  auto qs = shared("_q", {H, cfg.d}), ps = shared("_p", {H, kTile}),
       wts = shared("_w", {kTile}), stat = shared("_s", {3, H}),
       red = shared("_r", {kTileThreads / kWarp, H, cfg.d});
  auto pick = scf::IfOp::create(b, fast, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(pick.thenBlock()->getTerminator());
    FlatView fk = flatten(b, o.keys), fv = flatten(b, o.values);
    launch(
        b, h.mul(rows, splits), h.idx(kTileThreads), [&](Value tid, Value bid) {
          Value split = h.remu(bid, splits), r = h.divu(bid, splits);
          Value bi = h.divu(r, hkv), g = h.remu(r, hkv);
          // Whole tiles per split (the pass sized the splits so).
          Value tiles = h.divu(h.add(slots, h.idx(kTile - 1)), h.idx(kTile));
          Value chunk =
              h.mul(h.divu(h.add(tiles, h.sub(splits, h.idx(1))), splits),
                    h.idx(kTile));
          Value lo = h.minI(h.mul(split, chunk), slots);
          Value hi = h.minI(h.add(lo, chunk), slots);
          TileShared sh{qs(), ps(), wts(), stat(), red()};
          // One split per row (large batches): the block writes the
          // output and advances the length; no combine launch.
          Value direct = h.cmpI(P::eq, splits, h.idx(1));
          attendTiles(h, cfg, o, sh, fk, fv, tid, bi, g, group, split, lo, hi,
                      direct);
          h.ifThen(h.andI(direct, h.andI(h.cmpI(P::eq, g, h.idx(0)),
                                         h.cmpI(P::eq, tid, h.idx(0)))),
                   [&] { advanceLength(h, o.lengths, bi); });
        });
    b.setInsertionPoint(pick.elseBlock()->getTerminator());
    Value headWarps = h.maxI(h.minI(group, h.idx(kMaxHeadWarps)), h.idx(1));
    launch(b, h.mul(rows, splits), h.mul(headWarps, h.idx(kWarp)),
           [&](Value tid, Value bid) {
             Value split = h.remu(bid, splits), r = h.divu(bid, splits);
             Value bi = h.divu(r, hkv), g = h.remu(r, hkv);
             Value warp = h.divu(tid, h.idx(kWarp)),
                   lane = h.remu(tid, h.idx(kWarp));
             Value chunk =
                 h.divu(h.add(slots, h.sub(splits, h.idx(1))), splits);
             Value lo = h.minI(h.mul(split, chunk), slots);
             Value hi = h.minI(h.add(lo, chunk), slots);
             h.loop(warp, group, headWarps, {}, [&](Value head, ValueRange) {
               Value q = h.add(h.mul(g, group), head);
               attendSplit(h, cfg, o, lane, bi, g, q, split, lo, hi);
               return SmallVector<Value>{};
             });
           });
  }

  // 3. Combine, and the lengths: a block per (batch, query head) (per
  // sequence when there are no query heads); not when the tile kernel ran
  // one split per row (it wrote both).
  Value direct = h.andI(fast, h.andI(h.cmpI(P::eq, splits, h.idx(1)),
                                     h.cmpI(P::ugt, rows, h.idx(0))));
  auto combineIf = scf::IfOp::create(b, h.notI(direct),
                                     /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(combineIf.thenBlock()->getTerminator());
  Value heads = h.maxI(hq, h.idx(1));
  launch(b, h.mul(batch, heads), h.idx(cfg.d), [&](Value tid, Value bid) {
    Value bi = h.divu(bid, heads), q = h.remu(bid, heads);
    h.ifThen(h.cmpI(P::ult, q, hq), [&] { combine(h, o, tid, bi, q); });
    h.ifThen(h.andI(h.cmpI(P::eq, q, h.idx(0)), h.cmpI(P::eq, tid, h.idx(0))),
             [&] { advanceLength(h, o.lengths, bi); });
  });
}

func::FuncOp getOrCreateDecodeStepStub(ModuleOp module,
                                       const DecodeKernelConfig &cfg) {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << "sparsek_decode_step_" << cfg.elem << "_d" << cfg.d << "_k" << cfg.k
     << "_w" << cfg.window << "_" << stringifyGate(cfg.gate) << "_s"
     << llvm::format_hex_no_prefix(llvm::bit_cast<uint64_t>(cfg.scale), 16);
  MLIRContext *ctx = module.getContext();
  return getOrCreateStub(
      module, name, decodeStepStubOperandTypes(ctx, cfg.elem), "decode_step",
      [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("elem", TypeAttr::get(cfg.elem));
        attrs.append("d", mb.getI64IntegerAttr(cfg.d));
        attrs.append("k", mb.getI64IntegerAttr(cfg.k));
        attrs.append("window", mb.getI64IntegerAttr(cfg.window));
        attrs.append("scale", mb.getF64FloatAttr(cfg.scale));
        attrs.append("gate", GateAttr::get(ctx, cfg.gate));
      });
}

std::optional<DecodeKernelConfig> decodeStepStubConfig(func::FuncOp f) {
  DictionaryAttr dict = stubAttrsOfKind(f, {"decode_step"});
  if (!dict)
    return std::nullopt;
  auto elem = dict.getAs<TypeAttr>("elem");
  auto gate = dict.getAs<GateAttr>("gate");
  auto scale = dict.getAs<FloatAttr>("scale");
  auto d = dict.getAs<IntegerAttr>("d"), k = dict.getAs<IntegerAttr>("k"),
       w = dict.getAs<IntegerAttr>("window");
  if (!elem || !gate || !scale || !d || !k || !w)
    return std::nullopt;
  return DecodeKernelConfig::create(elem.getValue(), d.getInt(), d.getInt(),
                                    k.getInt(), w.getInt(),
                                    scale.getValueAsDouble(), gate.getValue());
}

} // namespace mlir::sparsek::gpu_kernels
