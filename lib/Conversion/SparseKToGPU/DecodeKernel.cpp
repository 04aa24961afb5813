//===- DecodeKernel.cpp - sparsek.decode_step on the GPU ------------------===//
//
// One decoding step (docs/Semantics.md section 10) for a batch, in place in
// the decode state, on one stream (no host round trip, no allocation
// inside: capturable in a CUDA graph). The pieces:
//
//   - update (updateRow), one warp per (batch, KV head) row: the token
//     leaving the window becomes a candidate; the lanes find the
//     selection's smallest (score, position) slot (strided scans and a
//     butterfly), copy the candidate's key and value there when it wins
//     and the new token's into its window slot; lane 0 then runs the
//     threshold sweep of the linalg lowering (Selection.cpp, the same
//     builders, on memrefs): insert, solve, drop the lowest past the
//     band's capacity. It touches the heaps only when the candidate
//     scores above the threshold; then the update kernel of its own
//     sweeps shared-memory copies of them (static workgroup globals,
//     copied in by cp.async issued at the kernel's start, each of the
//     sweep's stores also made to the state: write-through), the fused
//     kernel the state's heap rows in global memory.
//   - attention over the row's k + w slots. When the state's key and value
//     rows are contiguous and 16-byte aligned (checked on the host before
//     the launch), the tile kernel (attendTiles): a block of four warps
//     per (row, split), each warp its own split of the block's slots in
//     tiles of 16 streamed into shared memory by cp.async, S = Q K^T and
//     O += P V on tensor cores for up to 16 query heads of the group at
//     once (each key and value row read once for all of them), the warps
//     merged at the end. Otherwise a warp per query head (attendSplit):
//     its lanes hold 32-element stripes of q, each slot's key and value
//     row, the dot product reduced across the warp; an online softmax per
//     warp. Partial (max, sum, acc) per (query head, split) go to a
//     scratch buffer.
//   - combine, one block per (batch, query head), a thread per output
//     element: the splits merged, the output stored in its element type;
//     the sequence's length advanced.
//
// Launches: with one split per row (large batches, or states of at most 64
// slots) on aligned rows, the tile kernel fused with the update (warp 0
// updates its block's row while the other warps attend to window tiles the
// update cannot touch), which stores the output itself, then a launch
// advancing the lengths (a row's block cannot know when the other rows of
// its sequence have read the length), or, with the schedule's
// fusedLengths, no such launch: each block arrives at its sequence once
// all its threads have read the length (after the update's barrier; an
// atomic count in counts[b, 0, 2] above row 0's overflow bit), and the
// block whose arrival was the sequence's last advances the length at its
// end.
// Otherwise: the update, the attention, the combine.
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
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/ErrorHandling.h"
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

/// A gpu.launch of `blocks` x `threads` (and `dynamicBytes` of dynamic
/// shared memory, an i32, when given); `body(tid, bid)` inside. With
/// `minBlocks` > 0, the launch asks for that many blocks resident per SM
/// (nvvm.minctasm, which sparsek-gpu-kernel-outlining moves to the
/// kernel: ptxas bounds its registers).
void launch(ImplicitLocOpBuilder &b, Value blocks, Value threads,
            function_ref<void(Value, Value)> body,
            Value dynamicBytes = Value(), int64_t minBlocks = 0) {
  Value one = constIndex(b, 1);
  auto op = gpu::LaunchOp::create(b, blocks, one, one, threads, one, one,
                                  dynamicBytes);
  if (minBlocks > 0)
    op->setAttr("nvvm.minctasm", b.getI32IntegerAttr(minBlocks));
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

/// Shared memory for the update's sweep: the heaps' keys [2, kSweepSlots]
/// (cap, mid) and tags [2, kSweepSlots], and whether a row's heaps fit
/// (band rows of at most kSweepSlots entries); null keys: none.
struct SweepShared {
  Value keys, tags, fits;
};

/// Band entries a row's heaps may hold for the sweep in shared memory
/// (40 KB of static shared memory; the default band of 1024 beside k
/// fits for k up to 1535).
constexpr int64_t kSweepSlots = 2560;

/// The sweep's shared heaps inside a kernel: private workgroup globals
/// (static shapes: gpu.dynamic_shared_memory is a zero-sized LLVM object,
/// whose accesses alias analysis takes for disjoint, so the sift loops'
/// loads would pass their stores), declared once per module; `len` is the
/// band rows' length.
SweepShared sweepShared(Builder &h, ModuleOp module, Value len) {
  ImplicitLocOpBuilder &b = h.b;
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Value, 2> views;
  for (Type elem : {Type(b.getF32Type()), Type(b.getI32Type())}) {
    std::string name = std::string("sparsek_decode_heap_") +
                       (elem.isF32() ? "keys" : "tags");
    auto type = MemRefType::get({2, kSweepSlots}, elem,
                                MemRefLayoutAttrInterface{}, wg);
    declareWorkgroupGlobal(module, b.getLoc(), name, type, 16);
    views.push_back(memref::GetGlobalOp::create(b, type, name));
  }
  return {views[0], views[1],
          h.cmpI(P::ule, len, h.idx(kSweepSlots))};
}

/// The memref a heap operation stores into, through the loops and
/// branches that carry it (a heap on memrefs is updated in place, so a
/// loop's or branch's memref result is the memref it was given).
Value carriedMemref(Value v) {
  while (true) {
    if (auto r = dyn_cast<OpResult>(v)) {
      Operation *op = r.getOwner();
      unsigned n = r.getResultNumber();
      if (auto f = dyn_cast<scf::ForOp>(op)) {
        v = f.getInits()[n];
      } else if (auto w = dyn_cast<scf::WhileOp>(op)) {
        v = w.getConditionOp().getArgs()[n];
      } else if (auto i = dyn_cast<scf::IfOp>(op)) {
        v = i.thenYield().getOperand(n);
      } else {
        return v;
      }
      continue;
    }
    auto arg = cast<BlockArgument>(v);
    Operation *op = arg.getOwner()->getParentOp();
    unsigned n = arg.getArgNumber();
    if (auto f = dyn_cast<scf::ForOp>(op)) {
      if (n == 0) // the induction variable
        return v;
      v = f.getInits()[n - 1];
    } else if (auto w = dyn_cast<scf::WhileOp>(op)) {
      v = arg.getOwner() == w.getBeforeBody() ? w.getInits()[n]
                                              : w.getConditionOp().getArgs()[n];
    } else {
      return v;
    }
  }
}

/// Write-through: after every store under `scope` into one of `rows`
/// (through the loops and branches that carry it), the same store into
/// the matching row of `mirrors`. Every shared-memory store under `scope`
/// must be one of them (a store whose row carriedMemref cannot follow
/// would leave the state stale).
void mirrorStores(Operation *scope, ArrayRef<Value> rows,
                  ArrayRef<Value> mirrors) {
  SmallVector<memref::StoreOp> stores;
  scope->walk([&](memref::StoreOp st) { stores.push_back(st); });
  for (memref::StoreOp st : stores) {
    Value root = carriedMemref(st.getMemRef());
    auto *it = llvm::find(rows, root);
    if (it == rows.end()) {
      if (gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(st.getMemRefType()))
        llvm::report_fatal_error("decode update: a shared-memory store of the "
                                 "heap sweep that write-through cannot mirror");
      continue;
    }
    OpBuilder ob(st->getBlock(), std::next(st->getIterator()));
    memref::StoreOp::create(ob, st.getLoc(), st.getValueToStore(),
                            mirrors[it - rows.begin()], st.getIndices());
  }
}

/// 1. The state update of row (bi, g), one warp. Its time is a chain of
/// round trips to memory, so every load that does not depend on the
/// sequence's length is issued first (the new token's key and value, the
/// selection's scores and positions, the counts and the threshold sums),
/// then those at the length's window slot, all before the first store
/// (loads after a store to another buffer would wait: the compiler cannot
/// tell the buffers apart); the stores are unconditional where they can
/// be (a slot written twice in order), so that no load sinks into a
/// branch behind the selection's reduction. Returns the (at most two)
/// slots whose key and value rows it rewrote (index -1: none).
std::pair<Value, Value> updateRow(Builder &h, const DecodeKernelConfig &cfg,
                                  const Operands &o, Value lane, Value bi,
                                  Value g, const SweepShared &shared = {}) {
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
  SmallVector<Value> global = {h.row(o.bandScores, {bi, g, zero}),
                               h.row(o.bandTags, {bi, g, zero}),
                               h.row(o.bandScores, {bi, g, h.idx(1)}),
                               h.row(o.bandTags, {bi, g, h.idx(1)})};
  Value rowSize[4] = {capSize, capSize, midSize, midSize};
  // The candidate's score above the threshold is what makes the sweep
  // touch the heaps (insert, cross breakpoints, drop the lowest); without
  // it the sweep reads no heap entry (a state leaves every step with
  // f(tau) <= k, so the solve crosses nothing). Warp-uniform.
  Value offered = h.sel(has, cu, constF32(b, -kInf));
  Value touches =
      h.cmpF(arith::CmpFPredicate::OGT,
             arith::ExtFOp::create(b, b.getF64Type(), offered), thr[0]);
  // The sweep's shared copies of the heaps, when it will touch them and
  // they fit: their copy-in (4-byte cp.async, no registers held) issued
  // now, so that its round trip overlaps the selection's scan, butterfly
  // and stores; waited for right before the sweep.
  SmallVector<Value> local;
  Value useShared;
  if (shared.keys) {
    local = {h.row(shared.keys, {zero}), h.row(shared.tags, {zero}),
             h.row(shared.keys, {h.idx(1)}), h.row(shared.tags, {h.idx(1)})};
    useShared = h.andI(touches, shared.fits);
    h.ifThen(useShared, [&] {
      // Through flat views: cp.async wants a unit stride.
      FlatView flat[2] = {flatten(b, o.bandScores), flatten(b, o.bandTags)};
      for (int r = 0; r < 4; ++r) {
        const FlatView &f = flat[r % 2];
        Value base = f.linear(b, {bi, g, h.idx(r / 2)});
        h.loop(lane, rowSize[r], h.idx(kWarp), {}, [&](Value i, ValueRange) {
          nvgpu::DeviceAsyncCopyOp::create(
              b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), local[r],
              ValueRange{i}, f.view,
              ValueRange{h.add(base, h.mul(i, f.strides[3]))},
              b.getIndexAttr(1), Value(), UnitAttr());
          return SmallVector<Value>{};
        });
      }
    });
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
  Value none = h.idx(-1);
  std::pair<Value, Value> written;
  if (w > 0) {
    Value dst = h.sel(move, target, ws);
    written = {dst, ws};
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
    written = {h.sel(move, target, none), none};
    h.ifThen(move, [&] {
      for (Col &col : cols)
        h.store(col.cand, col.cache, {bi, g, target, col.c});
    });
    h.ifThen(h.andI(move, h.cmpI(P::eq, lane, zero)), [&] {
      h.store(cu, o.scores, {bi, g, target});
      h.store(cpos, o.positions, {bi, g, target});
    });
  }

  // Lane 0's sweep over heaps held in `rows` (cap keys, cap tags, mid keys,
  // mid tags); the threshold sums and counts go to the state. Returns the
  // heaps' new sizes.
  auto sweep = [&](ArrayRef<Value> rows) -> SmallVector<Value> {
    Heap cap{rows[0], rows[1], capSize}, mid{rows[2], rows[3], midSize};
    Value tau = thr[0];
    Sweep s{cap, mid, thr[2], thr[1]};
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
    if (cfg.fusedLengths) {
      // The fused kernel counts its sequence's arrived blocks in the bits
      // above the flag (row 0's word, arrive): the flag is set
      // by an atomic or, never stored over them.
      memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::ori,
                                  h.sel(over, constI32(b, 1), constI32(b, 0)),
                                  o.counts, ValueRange{bi, g, h.idx(2)});
    } else {
      h.store(overflow, o.counts, {bi, g, h.idx(2)});
    }
    return {s.cap.size, s.mid.size};
  };
  Value first = h.cmpI(P::eq, lane, zero);
  auto globalSweep = [&] {
    // The heaps' live entries brought into L1 by the whole warp (a
    // prefetch per 128-byte line) when the sweep will touch them, so that
    // lane 0's chain of dependent accesses mostly hits L1 instead of L2.
    h.ifThen(touches, [&] {
      for (int r = 0; r < 4; ++r)
        prefetchL1(h, global[r], rowSize[r], lane);
    });
    h.ifThen(first, [&] { sweep(global); });
  };
  if (!shared.keys) {
    globalSweep();
    return written;
  }
  // The sweep on the shared-memory copies when it touches the heaps and
  // they fit: each of its sift steps waits on the previous one, a
  // shared-memory access instead of a global one (the update kernel of a
  // B 16 step at 8K: 9.1-9.9 us against 10.3-11.5 with the heaps in
  // global memory, bench/NOTES.md run 140). Every store the sweep makes
  // into a shared row is mirrored into the state's row (write-through:
  // global stores do not stall lane 0's chain), so nothing is copied out.
  auto branch = scf::IfOp::create(b, useShared, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(branch.elseBlock()->getTerminator());
  globalSweep();
  b.setInsertionPoint(branch.thenBlock()->getTerminator());
  // The copy-in issued above, then every lane's copies visible to lane 0.
  asyncWait(b, asyncCommit(b), 0);
  NVVM::SyncWarpOp::create(b, constI32(b, -1));
  auto lane0 = scf::IfOp::create(b, first, /*withElseRegion=*/false);
  b.setInsertionPoint(lane0.thenBlock()->getTerminator());
  sweep(local);
  mirrorStores(lane0, local, global);
  return written;
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

/// The block's arrival at its sequence (the fused kernel's lengths),
/// counted in bits 1..31 of counts[bi, 0, 2] (bit 0: row 0's overflow
/// flag), by one thread once every thread of the block has read the
/// length (after the update's barrier); returns the word before the
/// arrival. The fence orders the block's reads before the arrival. Only
/// the sequence's last arrival's word is used, at the block's end
/// (advanceIfLast), so the atomic's latency overlaps the tiles.
Value arrive(Builder &h, const Operands &o, Value bi) {
  ImplicitLocOpBuilder &b = h.b;
  NVVM::MembarOp::create(b, NVVM::MemScopeKind::GPU);
  return memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi,
                                     constI32(b, 2), o.counts,
                                     ValueRange{bi, h.idx(0), h.idx(2)});
}

/// With `old` the word the arriving thread (`arriver`) saw: when its
/// arrival was the sequence's last (every row has read the length),
/// lengths[bi] advanced and the count cleared (a fence orders the store
/// after the arrival).
void advanceIfLast(Builder &h, const Operands &o, Value arriver, Value old,
                   Value bi) {
  ImplicitLocOpBuilder &b = h.b;
  Value hkv = h.toI32(h.dim(o.keys, 1));
  Value arrived = arith::ShRUIOp::create(b, old, constI32(b, 1));
  Value last = h.andI(arriver,
                      h.cmpI(P::eq, arith::RemUIOp::create(b, arrived, hkv),
                             arith::SubIOp::create(b, hkv, constI32(b, 1))));
  h.ifThen(last, [&] {
    NVVM::MembarOp::create(b, NVVM::MemScopeKind::GPU);
    advanceLength(h, o.lengths, bi);
    memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::andi, constI32(b, 1),
                                o.counts, ValueRange{bi, h.idx(0), h.idx(2)});
  });
}

/// The attention of block (split, row (bi, g)) over slots [lo, hi), for up
/// to kRowsPerPass query heads of the group at once, on tensor cores; the
/// fast path for key/value rows of 16-byte-aligned contiguous elements.
/// Each warp is its own split of the block's slots: it takes tiles of
/// kWarpSlots slots (the order below), streams their key and value rows
/// into its own swizzled shared stages by 16-byte cp.async (kStages - 1
/// tiles in flight while one is computed; a warp waits on nothing but its
/// own copies), each row read once for all the pass's heads. Per tile:
/// S = Q K^T by mma.sync m16n8k16 (the heads are the 16 rows, Q's
/// fragments in registers, K's by ldmatrix), the gated logits and an online
/// softmax in registers (quad shuffles), P (times the gate weights for
/// value gates) kept in registers as the A operand of O += P V (V by
/// ldmatrix.trans). The warps' states (max, sum, O) merge through shared
/// memory into partial[bi, hq, split, :] = (max, sum, acc...), or, when
/// `fused` (one block per row), into the output itself. Groups of more
/// than kRowsPerPass heads take several passes.
///
/// `fused`: the block also runs its row's update (warp 0, updateRow) while
/// warps 1..3 compute cfg.phase1Tiles window tiles each that the update does
/// not touch; the other tiles come after a barrier, and a copy of them
/// issued before it that may have raced the update's rewrite of a slot is
/// redone by its lane, from global memory, once the copy has landed.
constexpr int64_t kTileWarps = 4;
constexpr int64_t kTileThreads = kTileWarps * kWarp;
constexpr int64_t kWarpSlots = 16;
/// Tiles per warp's stages: one in flight while one is computed (three
/// stages: 96 KiB of shared memory per block at D = 128 and a smaller L1
/// for the update's heap sweep, slower; bench/NOTES.md run 115).
constexpr int64_t kStages = 2;
/// Query heads per pass: the 16 rows of mma.sync's A operand.
constexpr int64_t kRowsPerPass = 16;
/// Positions and scores of a lane's four slots of a tile, carried in the
/// tile loops' state.
constexpr int64_t kSlotValues = 8;
static_assert(DecodeKernelConfig::kTileSlots == kTileWarps * kWarpSlots);

/// The tile kernel's dynamic shared memory, byte offsets: the key and
/// value stages ([W][kStages][16][D] elements each, chunk c of row r at
/// chunk c ^ (r % 8): conflict-free for cp.async and ldmatrix), the warps'
/// statistics [W][2][16] f32 (max, sum per head) and the update's two
/// rewritten slots (i32). The warps' O [W][16][D] f32 reuses the stages
/// after the last tile.
struct TileLayout {
  int64_t keys = 0, values, stat, dirty, total;
  explicit TileLayout(int64_t d) {
    int64_t buffer = kTileWarps * kStages * kWarpSlots * d * 2;
    values = buffer;
    stat = 2 * buffer;
    dirty = stat + kTileWarps * 2 * kRowsPerPass * 4;
    total = dirty + 16;
    assert(kTileWarps * kRowsPerPass * d * 4 <= stat &&
           "the warps' O fit in the stages");
  }
};

struct TileShared {
  Value keys, values, stat, dirty, red;
};

void attendTiles(Builder &h, const DecodeKernelConfig &cfg, const Operands &o,
                 const TileShared &sh, const FlatView &fk, const FlatView &fv,
                 const FlatView &fq, Value tid, Value bi, Value g, Value group,
                 Value split, Value lo, Value hi, bool fused) {
  ImplicitLocOpBuilder &b = h.b;
  const int64_t D = cfg.d, CG = D / 8, R = kRowsPerPass, W = kTileWarps;
  const int64_t copies = kWarpSlots * CG / kWarp; // per buffer and lane
  const int64_t step = W * kWarpSlots;            // a warp's next tile
  MmaEmitter mma(b, cfg.elem);
  Type f32 = b.getF32Type();
  auto v8e = VectorType::get({8}, cfg.elem);
  Value zero = h.idx(0), kIdx = h.idx(cfg.k);
  Value negInf = constF32(b, -kInf), zeroF = constF32(b, 0);
  Value scale = constF32(b, cfg.scale), log2e = constF32(b, kLog2e);
  Value warp = h.divu(tid, h.idx(kWarp)), lane = h.remu(tid, h.idx(kWarp));
  Value gq = h.divu(lane, h.idx(4)), tq = h.remu(lane, h.idx(4));
  bool valueGate = cfg.gate == Gate::kv || cfg.gate == Gate::v;
  auto barrier = [&] { gpu::BarrierOp::create(b); };
  auto syncWarp = [&] { NVVM::SyncWarpOp::create(b, constI32(b, -1)); };
  // griddepcontrol.wait: sparsek-gpu-grid-dependency leaves a kernel with
  // its own waits alone (and removes them for chips before sm_90).
  auto gridWait = [&] {
    NVVM::GriddepcontrolOp::create(b, NVVM::GridDepActionKind::wait);
  };
  auto vload = [&](Value m, ValueRange i) {
    auto ld = vector::LoadOp::create(b, v8e, m, i);
    ld.setAlignment(16);
    return ld.getResult();
  };
  auto rowBase = [&](const FlatView &f, Value j) {
    return f.linear(b, ValueRange{bi, g, j});
  };
  auto exp2Of = [&](Value x, Value shift) { // e^(x - shift)
    return fastExp2(b, arith::MulFOp::create(
                           b, arith::SubFOp::create(b, x, shift), log2e));
  };
  // ldmatrix rows and chunks of this lane (Emitters.h): K tiles as the B
  // operand of S = Q K^T, V tiles (transposed) as the B operand of P V.
  Value kRow = h.add(h.remu(lane, h.idx(8)),
                     h.mul(h.divu(lane, h.idx(16)), h.idx(8)));
  Value kChunk = h.remu(h.divu(lane, h.idx(8)), h.idx(2));
  Value vRow = h.remu(lane, h.idx(16)), vChunk = h.divu(lane, h.idx(16));
  // i32 forms of the slot arithmetic (tileStep).
  Value tq2 = h.toI32(h.mul(tq, h.idx(2))), hi32 = h.toI32(hi);
  Value k32 = constI32(b, cfg.k);

  // This lane's copies of its warp's tile at t0: chunk `c` of row r
  // (slot j), stored at column physCol.
  struct Copy {
    Value r, col, physCol, j, in;
  };
  auto copiesOf = [&](Value t0) {
    SmallVector<Copy> cs;
    for (int64_t i = 0; i < copies; ++i) {
      Value lc = h.add(lane, h.idx(i * kWarp));
      Value r = h.divu(lc, h.idx(CG)), c = h.remu(lc, h.idx(CG));
      Value j = h.add(t0, r);
      cs.push_back({r, h.mul(c, h.idx(8)), swizzledCol(b, r, c, CG), j,
                    h.cmpI(P::ult, j, hi)});
    }
    return cs;
  };
  // The warp's tile at t0 into `stage` (rows past hi zero-filled; nothing
  // when the tile starts past hi), then a commit (an empty group keeps the
  // wait counts uniform). A whole tile (every tile of a row of k + w
  // slots, a multiple of 16) takes the short path: no row checks, the
  // lane's element offsets in the tile as i32 (vectorizable() bounds the
  // slot strides) on the tile's first row: an address per copy is one
  // multiply-add (bench/NOTES.md run 203: address arithmetic was most of
  // the kernel's instructions).
  Value kStride = h.toI32(fk.strides[2]), vStride = h.toI32(fv.strides[2]);
  auto issue = [&](Value t0, Value stage) {
    Value full = h.cmpI(P::ule, h.add(t0, h.idx(kWarpSlots)), hi);
    auto whole = scf::IfOp::create(b, full, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(whole.thenBlock()->getTerminator());
      Value kb = rowBase(fk, t0), vb = rowBase(fv, t0);
      Value yes = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
      for (const Copy &c : copiesOf(t0)) { // (their row checks unused)
        Value r32 = h.toI32(c.r), col32 = h.toI32(c.col);
        auto at = [&](Value base, Value stride) {
          Value off = arith::AddIOp::create(
              b, arith::MulIOp::create(b, r32, stride), col32);
          return h.add(base, arith::IndexCastUIOp::create(
                                 b, b.getIndexType(), off));
        };
        asyncCopy16(b, sh.keys, {warp, stage, c.r, c.physCol}, fk.view,
                    at(kb, kStride), yes);
        asyncCopy16(b, sh.values, {warp, stage, c.r, c.physCol}, fv.view,
                    at(vb, vStride), yes);
      }
      b.setInsertionPoint(whole.elseBlock()->getTerminator());
      h.ifThen(h.cmpI(P::ult, t0, hi), [&] {
        for (const Copy &c : copiesOf(t0)) {
          Value js = h.sel(c.in, c.j, zero);
          asyncCopy16(b, sh.keys, {warp, stage, c.r, c.physCol}, fk.view,
                      h.add(rowBase(fk, js), c.col), c.in);
          asyncCopy16(b, sh.values, {warp, stage, c.r, c.physCol}, fv.view,
                      h.add(rowBase(fv, js), c.col), c.in);
        }
      });
    }
    return asyncCommit(b);
  };

  // The warp's tiles, in order: the base slot of its idx-th tile, how
  // many it has, and how many of them (c1) come before the update's
  // barrier (fused) or the wait for the update kernel (split). Split: the
  // tiles lo + 16 w, lo + 16 (w + 4), ..., reordered (below). Fused (lo = 0): the row's
  // tiles of 16 slots are nT; those from kT = ceil(k / 16) on hold window
  // slots only (gate weight 1), which the update leaves alone but for the
  // new token's window slot ws (tile wsT). Taken cyclically from the tile
  // after wsT, the first n1 window tiles go to warps 1..3 (cfg.phase1Tiles
  // each) while warp 0 updates the row; after the barrier, the rest (the
  // remaining window tiles, wsT last, then the tiles below kT, whose
  // weights need the new threshold) are dealt to all four warps.
  Value c1 = zero, count, nW, n1, rot, kT, nSel, hasWs, iWs;
  Value first0 = h.mul(warp, h.idx(kWarpSlots));
  auto ceilDiv = [&](Value x, int64_t d) {
    return h.divu(h.add(x, h.idx(d - 1)), h.idx(d));
  };
  auto countFrom = [&](Value n, Value from, int64_t every) {
    return h.sel(h.cmpI(P::ugt, n, from), ceilDiv(h.sub(n, from), every),
                 zero);
  };
  // The new token's position (read before the update; the lengths
  // advance after every block of the step has read them).
  Value pNew32 = position(h, o.lengths, bi);
  Value pNew = h.toIdx(pNew32);
  Value wm1 = h.sub(h.maxI(warp, h.idx(1)), h.idx(1));
  Value isUpdater = h.cmpI(P::eq, warp, zero);
  if (fused) {
    Value nT = ceilDiv(hi, kWarpSlots);
    kT = h.minI(h.idx(llvm::divideCeil(cfg.k, kWarpSlots)), nT);
    nW = h.sub(nT, kT);
    rot = zero;
    if (cfg.window > 0) {
      Value wsT = h.divu(h.add(kIdx, h.remu(pNew, h.idx(cfg.window))),
                         h.idx(kWarpSlots));
      rot = h.sel(h.cmpI(P::uge, wsT, kT), h.add(h.sub(wsT, kT), h.idx(1)),
                  zero);
    }
    n1 = h.minI(h.idx((W - 1) * cfg.phase1Tiles),
                h.sub(h.maxI(nW, h.idx(1)), h.idx(1)));
    c1 = h.sel(isUpdater, zero, countFrom(n1, wm1, W - 1));
    count = h.add(c1, countFrom(h.sub(nT, n1), warp, W));
  } else {
    // Split: the warp's tiles are i = 0, 1, ... at lo + 16 w + 64 i, the
    // first nSel of them below k. The window tiles (all slots >= k) but
    // the new token's slot's (iWs, when it is this warp's) come first
    // (c1 of them): nothing the update kernel writes, so they are copied
    // and computed before the wait for it; then iWs, then the tiles
    // below k.
    count = countFrom(h.sub(hi, lo), first0, step);
    Value kRel = h.sel(h.cmpI(P::ugt, kIdx, lo), h.sub(kIdx, lo), zero);
    nSel = h.minI(countFrom(kRel, first0, step), count);
    hasWs = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
    iWs = zero;
    if (cfg.window > 0) {
      Value ws = h.add(kIdx, h.remu(pNew, h.idx(cfg.window)));
      Value rel = h.sub(ws, lo);
      iWs = h.divu(rel, h.idx(step));
      hasWs = h.andI(
          h.andI(h.cmpI(P::uge, ws, lo), h.cmpI(P::ult, ws, hi)),
          h.andI(h.cmpI(P::eq,
                        h.remu(h.divu(rel, h.idx(kWarpSlots)), h.idx(W)),
                        warp),
                 h.cmpI(P::uge, iWs, nSel)));
    }
    c1 = h.sub(h.sub(count, nSel), h.sel(hasWs, h.idx(1), zero));
  }
  auto baseOf = [&](Value idx) -> Value {
    if (!fused) {
      Value one = h.idx(1);
      Value pre = h.add(h.add(nSel, idx),
                        h.sel(h.andI(hasWs, h.cmpI(P::uge, h.add(nSel, idx),
                                                   iWs)),
                              one, zero));
      Value m = h.sub(idx, c1);
      Value post = h.sel(hasWs,
                         h.sel(h.cmpI(P::eq, m, zero), iWs,
                               h.sub(m, one)),
                         m);
      Value i = h.sel(h.cmpI(P::ult, idx, c1), pre, post);
      return h.add(lo, h.add(first0, h.mul(i, h.idx(step))));
    }
    // Window entry i: tile kT + (rot + i) mod nW. The entries asked for
    // are below nW and rot is at most nW, so one conditional subtraction
    // is the modulo (a division by the runtime nW took ~25 instructions
    // per call, three calls a tile: bench/NOTES.md run 203).
    auto window = [&](Value i) {
      Value x = h.add(rot, i);
      return h.add(kT, h.sel(h.cmpI(P::uge, x, nW), h.sub(x, nW), x));
    };
    Value first = window(h.add(wm1, h.mul(idx, h.idx(W - 1))));
    Value m = h.add(warp, h.mul(h.sub(idx, c1), h.idx(W)));
    Value rest = h.sub(nW, n1);
    Value later = h.sel(h.cmpI(P::ult, m, rest), window(h.add(n1, m)),
                        h.sub(m, rest));
    return h.mul(h.sel(h.cmpI(P::ult, idx, c1), first, later),
                 h.idx(kWarpSlots));
  };
  // Tile idx of this warp into its stage (nothing past its last tile).
  // With `when` (an i1), only where it holds.
  auto issueIdx = [&](Value idx, Value when = Value()) {
    Value stage = h.remu(idx, h.idx(kStages));
    Value base = baseOf(idx);
    Value in = h.cmpI(P::ult, idx, count);
    if (when)
      in = h.andI(when, in);
    return issue(h.sel(in, base, hi), stage);
  };

  // The fused lengths: warp 1's lane 0 arrives in the first pass.
  bool arrives = fused && cfg.fusedLengths;
  Value arriver = h.cmpI(P::eq, tid, h.idx(kWarp));
  SmallVector<Value> word = h.loop(
      zero, group, h.idx(R),
      arrives ? SmallVector<Value>{constI32(b, 0)} : SmallVector<Value>{},
      [&](Value h0, ValueRange carried) -> SmallVector<Value> {
    Value nh = h.minI(h.idx(R), h.sub(group, h0));
    Value head0 = h.add(h.mul(g, group), h0);
    // The first kStages - 1 tiles of this warp in flight; in the fused
    // kernel's first pass, every stage (warp 0's loads then fly while it
    // updates the row; the first tile step issues nothing).
    Value firstPass = h.cmpI(P::eq, h0, zero);
    int64_t pre =
        fused ? std::clamp<int64_t>(cfg.preIssue, kStages - 1, kStages)
              : kStages - 1;
    if (!fused) // no window tile to copy before the wait for the update
      h.ifThen(h.cmpI(P::ult, c1, h.idx(kStages - 1)), [&] { gridWait(); });
    for (int64_t s = 0; s < pre; ++s)
      issueIdx(h.idx(s), s + 1 < kStages ? Value() : firstPass);
    // Q's A fragments (rows gq and gq + 8 of the pass's heads, zeros past
    // nh), in registers for every tile.
    Value zeroPair = mma.packPair(zeroF, zeroF);
    SmallVector<MmaEmitter::AFrag> qFrag;
    {
      Value last = h.sub(nh, h.idx(1));
      Value rowA = gq, rowB = h.add(gq, h.idx(8));
      Value inA = h.cmpI(P::ult, rowA, nh), inB = h.cmpI(P::ult, rowB, nh);
      Value ra = fq.linear(b, {bi, h.add(head0, h.minI(rowA, last)), zero});
      Value rb = fq.linear(b, {bi, h.add(head0, h.minI(rowB, last)), zero});
      for (int64_t kc = 0; kc < D / 16; ++kc) {
        Value colA = h.add(h.idx(kc * 16), h.mul(tq, h.idx(2)));
        Value colB = h.add(colA, h.idx(8));
        qFrag.push_back(
            {h.sel(inA, mma.loadPair(fq.view, h.add(ra, colA)), zeroPair),
             h.sel(inB, mma.loadPair(fq.view, h.add(rb, colA)), zeroPair),
             h.sel(inA, mma.loadPair(fq.view, h.add(ra, colB)), zeroPair),
             h.sel(inB, mma.loadPair(fq.view, h.add(rb, colB)), zeroPair)});
      }
    }

    // This lane's slot (columns 2 tq + par of n-tile nt) of the tile at
    // t0: whether it lies below hi, and its index (slot lo past hi, in
    // bounds; never used).
    auto slotAt = [&](Value t0, int64_t nt, int64_t par) {
      Value j = h.add(t0, h.add(h.idx(nt * 8 + par), h.mul(tq, h.idx(2))));
      Value in = h.cmpI(P::ult, j, hi);
      return std::make_pair(in, h.sel(in, j, lo));
    };
    // This lane's four slots of tile idx (n-tiles 0 and 1): their
    // positions, then their scores.
    auto slotsOf = [&](Value idx) {
      Value t0 = baseOf(idx);
      SmallVector<Type> types(4, b.getI32Type());
      types.append(4, f32);
      return detail::ifElse(
          b, h.cmpI(P::ult, t0, kIdx), types,
          [&](ImplicitLocOpBuilder &) {
            SmallVector<Value> pos, score;
            for (int64_t nt = 0; nt < 2; ++nt)
              for (int64_t par = 0; par < 2; ++par) {
                Value js = slotAt(t0, nt, par).second;
                pos.push_back(h.load(o.positions, {bi, g, js}));
                score.push_back(h.load(o.scores, {bi, g, js}));
              }
            pos.append(score);
            return pos;
          },
          [&](ImplicitLocOpBuilder &) {
            SmallVector<Value> none(4, constI32(b, -1));
            none.append(4, zeroF);
            return none;
          });
    };

    // One tile: idx of this warp's sequence, in loop state `a` (the max in
    // natural units and this lane's partial sums of rows gq and gq + 8,
    // then O, D / 8 n-tiles x 4; with `tau`, last, this tile's slotsOf,
    // and the step returns the next tile's there). `tau`: the threshold
    // (null for window tiles: weight 1, validity from pNew, nothing
    // carried); `d0`, `d1`: the update's rewritten slots (null: no
    // fix-ups).
    auto tileStep = [&](Value idx, ValueRange a, Value tau, Value d0,
                        Value d1, Value waitAt) -> SmallVector<Value> {
      Value stage = h.remu(idx, h.idx(kStages));
      Value t0 = baseOf(idx);
      // Every lane is done with the stage the previous tile used before it
      // is refilled with the tile kStages - 1 ahead; then this tile's
      // copies landed (this lane's), fixed up, visible to the warp.
      syncWarp();
      Value nextIdx = h.add(idx, h.idx(kStages - 1));
      // Tiles below kStages issued by the first pass's prologue when it
      // filled every stage: an empty group instead.
      Value notIssued;
      if (fused && pre == kStages)
        notIssued = h.orI(h.cmpI(P::ne, h0, zero),
                          h.cmpI(P::uge, nextIdx, h.idx(kStages)));
      // The split kernel's wait for the update, before the copy of the
      // first tile that may read what it writes.
      if (waitAt)
        h.ifThen(h.cmpI(P::eq, nextIdx, waitAt), [&] { gridWait(); });
      Value ahead = issueIdx(nextIdx, notIssued);
      // This lane's four slots' validity and gate weights (columns 2 tq,
      // 2 tq + 1 of n-tiles 0 and 1), from the positions and scores the
      // previous step loaded; the next tile's are loaded now, a tile ahead
      // of their use.
      // Window tiles (no tau) need neither.
      ValueRange mine = tau ? a.take_back(kSlotValues) : ValueRange();
      SmallVector<Value> nextSlots;
      if (tau)
        nextSlots = slotsOf(h.add(idx, h.idx(1)));
      // In i32 (the tile kernels take rows of fewer than 2^30 slots;
      // 64-bit compares are two instructions each).
      Value valid[2][2], wgt[2][2];
      Value t32 = h.toI32(t0);
      for (int64_t nt = 0; nt < 2; ++nt)
        for (int64_t par = 0; par < 2; ++par) {
          Value j = arith::AddIOp::create(
              b, t32,
              arith::AddIOp::create(b, tq2, constI32(b, nt * 8 + par)));
          Value in = h.cmpI(P::ult, j, hi32);
          // A window slot s holds the token at the position p' <= p
          // (the new token's) with p' = s - k mod w: filled once
          // s - k <= p. A selected slot: its position is -1 while empty.
          // (Past hi, `in` decides.)
          Value filled =
              h.cmpI(P::ule, arith::SubIOp::create(b, j, k32), pNew32);
          Value selected = tau ? h.cmpI(P::ult, j, k32) : Value();
          if (tau)
            filled = h.sel(selected,
                           h.cmpI(P::sge, mine[nt * 2 + par], constI32(b, 0)),
                           filled);
          valid[nt][par] = h.andI(in, filled);
          wgt[nt][par] =
              tau ? h.sel(selected,
                          detail::softWeight(b, mine[4 + nt * 2 + par], tau),
                          constF32(b, 1))
                  : constF32(b, 1);
        }
      asyncWait(b, ahead, kStages - 1);
      if (d0) {
        for (const Copy &c : copiesOf(t0)) {
          Value dirty = h.andI(c.in, h.orI(h.cmpI(P::eq, c.j, d0),
                                           h.cmpI(P::eq, c.j, d1)));
          h.ifThen(dirty, [&] {
            for (auto [src, dst] : {std::make_pair(&fk, sh.keys),
                                    std::make_pair(&fv, sh.values)})
              vector::StoreOp::create(
                  b, vload(src->view, {h.add(rowBase(*src, c.j), c.col)}),
                  dst, ValueRange{warp, stage, c.r, c.physCol})
                  .setAlignment(16);
          });
        }
      }
      syncWarp();

      // c0, c1 += a times the two n-tiles of B that one ldmatrix .x4 gives
      // from the stage's swizzled rows at (row, chunk).
      auto mmaX4 = [&](Value buffer, Value row, Value chunk, bool transpose,
                       const MmaEmitter::AFrag &a, MmaEmitter::Acc &c0,
                       MmaEmitter::Acc &c1) {
        auto r = mma.ldmatrixX4(
            buffer, {warp, stage, row, swizzledCol(b, row, chunk, CG)},
            transpose);
        c0 = mma.mma(a, {r[0], r[1]}, c0);
        c1 = mma.mma(a, {r[2], r[3]}, c1);
      };
      // S = Q K^T over the tile's 16 slots (n-tiles 0 and 1).
      MmaEmitter::Acc s[2] = {mma.zeroAcc(), mma.zeroAcc()};
      for (int64_t kc = 0; kc < D / 16; ++kc)
        mmaX4(sh.keys, kRow, h.add(h.idx(2 * kc), kChunk), false, qFrag[kc],
              s[0], s[1]);
      // Online softmax of rows gq (elements 0, 1) and gq + 8 (2, 3).
      Value logit[2][4];
      for (int64_t nt = 0; nt < 2; ++nt)
        for (int64_t e = 0; e < 4; ++e)
          logit[nt][e] = detail::gatedLogit(b, cfg.gate, scale, s[nt][e],
                                            wgt[nt][e % 2], valid[nt][e % 2]);
      Value shift[2], alpha[2], sum[2], mNew[2];
      for (int64_t half = 0; half < 2; ++half) {
        Value mx = negInf;
        for (int64_t nt = 0; nt < 2; ++nt)
          for (int64_t par = 0; par < 2; ++par)
            mx = fastMaxF(b, mx, logit[nt][half * 2 + par]);
        mNew[half] = fastMaxF(b, a[half], quadMax(b, mx));
        shift[half] =
            h.sel(h.cmpF(arith::CmpFPredicate::OEQ, mNew[half], negInf),
                  zeroF, mNew[half]);
        alpha[half] = exp2Of(a[half], shift[half]);
        sum[half] = arith::MulFOp::create(b, a[2 + half], alpha[half]);
      }
      MmaEmitter::Acc pw[2];
      for (int64_t nt = 0; nt < 2; ++nt)
        for (int64_t e = 0; e < 4; ++e) {
          Value p = exp2Of(logit[nt][e], shift[e / 2]);
          sum[e / 2] = arith::AddFOp::create(b, sum[e / 2], p);
          pw[nt][e] = valueGate
                          ? arith::MulFOp::create(b, p, wgt[nt][e % 2])
                                .getResult()
                          : p;
        }
      // O = alpha O + (P w) V.
      MmaEmitter::AFrag pa = mma.packA(pw[0], pw[1]);
      SmallVector<MmaEmitter::Acc> out(D / 8);
      for (int64_t nt = 0; nt < D / 8; ++nt)
        for (int64_t e = 0; e < 4; ++e)
          out[nt][e] = arith::MulFOp::create(b, a[4 + nt * 4 + e], alpha[e / 2]);
      for (int64_t dc = 0; dc < D / 16; ++dc)
        mmaX4(sh.values, vRow, h.add(h.idx(2 * dc), vChunk), true, pa,
              out[2 * dc], out[2 * dc + 1]);
      SmallVector<Value> next = {mNew[0], mNew[1], sum[0], sum[1]};
      for (auto &acc : out)
        next.append(acc.begin(), acc.end());
      next.append(nextSlots);
      return next;
    };
    // A loop of tile steps over [from, to) from state `st`, the first
    // tile's positions and scores loaded before it (with a threshold).
    auto tileLoop = [&](Value from, Value to, ValueRange st, Value tau,
                        Value d0, Value d1, Value waitAt = Value()) {
      SmallVector<Value> init(st);
      if (tau)
        init.append(slotsOf(from));
      SmallVector<Value> res = h.loop(
          from, to, h.idx(1), init,
          [&](Value idx, ValueRange a) -> SmallVector<Value> {
            return tileStep(idx, a, tau, d0, d1, waitAt);
          });
      if (tau)
        res.resize(res.size() - kSlotValues);
      return res;
    };

    SmallVector<Value> init = {negInf, negInf, zeroF, zeroF};
    for (int64_t i = 0; i < D / 8 * 4; ++i)
      init.push_back(zeroF);
    SmallVector<Value> st = init;
    if (!fused) // the window tiles, then the wait for the update
      st = tileLoop(zero, c1, st, Value(), Value(), Value(), c1);
    if (fused) {
      // Warps 1..3: their first window tiles, while warp 0 updates the
      // row (first pass; the slots it rewrote to shared memory for the
      // fix-ups).
      st = tileLoop(zero, c1, st, Value(), Value(), Value());
      h.ifThen(h.andI(h.cmpI(P::eq, h0, zero), h.cmpI(P::eq, warp, zero)),
               [&] {
                 auto [w0, w1] = updateRow(h, cfg, o, lane, bi, g);
                 h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
                   h.store(h.toI32(w0), sh.dirty, {zero});
                   h.store(h.toI32(w1), sh.dirty, {h.idx(1)});
                 });
               });
    }
    if (fused)
      barrier();
    SmallVector<Value> oldWord;
    if (arrives)
      oldWord = detail::ifElse(
          b, h.andI(firstPass, arriver), {b.getI32Type()},
          [&](ImplicitLocOpBuilder &) {
            return SmallVector<Value>{arrive(h, o, bi)};
          },
          [&](ImplicitLocOpBuilder &) {
            return SmallVector<Value>{carried[0]};
          });
    // After the update: the threshold, the rewritten slots.
    Value tau = arith::TruncFOp::create(
        b, f32, h.load(o.threshold, {bi, g, zero}));
    Value d0, d1;
    if (fused) {
      d0 = arith::IndexCastOp::create(b, b.getIndexType(),
                                      h.load(sh.dirty, {zero}));
      d1 = arith::IndexCastOp::create(b, b.getIndexType(),
                                      h.load(sh.dirty, {h.idx(1)}));
    }
    st = tileLoop(c1, count, st, tau, d0, d1);
    // Nothing in flight (the groups past a warp's last tile are empty),
    // every warp done with the stages before its O takes their place.
    asyncWait(b, asyncCommit(b), 0);
    barrier();
    for (int64_t half = 0; half < 2; ++half) {
      Value row = h.add(gq, h.idx(half * 8));
      for (int64_t nt = 0; nt < D / 8; ++nt)
        for (int64_t par = 0; par < 2; ++par)
          h.store(st[4 + nt * 4 + half * 2 + par], sh.red,
                  {warp, row,
                   h.add(h.idx(nt * 8 + par), h.mul(tq, h.idx(2)))});
      Value total = quadSum(b, st[2 + half]);
      h.ifThen(h.cmpI(P::eq, tq, zero), [&] {
        h.store(st[half], sh.stat, {warp, zero, row});
        h.store(total, sh.stat, {warp, h.idx(1), row});
      });
    }
    barrier();
    // The warps merged: head hh's max, sum and accumulator of column c.
    auto merged = [&](Value hh, Value c) {
      Value mx = negInf;
      for (int64_t w = 0; w < W; ++w)
        mx = fastMaxF(b, mx, h.load(sh.stat, {h.idx(w), zero, hh}));
      Value none = h.cmpF(arith::CmpFPredicate::OEQ, mx, negInf);
      Value sum = zeroF, acc = zeroF;
      for (int64_t w = 0; w < W; ++w) {
        Value m = h.load(sh.stat, {h.idx(w), zero, hh});
        Value f = h.sel(h.orI(none, h.cmpF(arith::CmpFPredicate::OEQ, m,
                                           negInf)),
                        zeroF, exp2Of(m, mx));
        sum = math::FmaOp::create(
            b, h.load(sh.stat, {h.idx(w), h.idx(1), hh}), f, sum);
        if (c)
          acc = math::FmaOp::create(b, h.load(sh.red, {h.idx(w), hh, c}), f,
                                    acc);
      }
      return std::array<Value, 3>{mx, sum, acc};
    };
    h.loop(tid, h.mul(nh, h.idx(D)), h.idx(kTileThreads), {},
           [&](Value i, ValueRange) {
             Value hh = h.divu(i, h.idx(D)), c = h.remu(i, h.idx(D));
             auto [mx, sum, acc] = merged(hh, c);
             Value hq = h.add(head0, hh);
             if (fused) // one split: the output itself, as combine() gives it
               storeOutput(h, o.out, acc, sum, bi, hq, c);
             else
               h.store(acc, o.partial, {bi, hq, split, h.add(c, h.idx(2))});
             return SmallVector<Value>{};
           });
    if (!fused)
      h.ifThen(h.cmpI(P::ult, tid, nh), [&] {
        auto [mx, sum, acc] = merged(tid, Value());
        Value hq = h.add(head0, tid);
        h.store(mx, o.partial, {bi, hq, split, zero});
        h.store(sum, o.partial, {bi, hq, split, h.idx(1)});
      });
    barrier();
    return oldWord;
  });
  if (arrives)
    advanceIfLast(h, o, arriver, word[0], bi);
  // Split: every thread waits for the update at least once, even with no
  // head pass (no query heads), so that this grid never ends before the
  // update kernel (the combine after it advances the lengths the update
  // reads). A second wait returns at once.
  if (!fused)
    gridWait();
}

/// Whether `m`'s rows suit attendTiles' 16-byte loads: unit innermost
/// stride, every other stride, the offset and the base 16-byte multiples,
/// the slot stride below 2^26 elements.
Value vectorizable(Builder &h, Value m) {
  ImplicitLocOpBuilder &b = h.b;
  auto md = memref::ExtractStridedMetadataOp::create(b, m);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, m);
  Value ok = h.cmpI(P::eq, md.getStrides()[3], h.idx(1));
  Value bits = md.getOffset();
  for (int i = 0; i < 3; ++i)
    bits = arith::OrIOp::create(b, bits, md.getStrides()[i]);
  ok = h.andI(ok, h.cmpI(P::eq, h.remu(bits, h.idx(8)), h.idx(0)));
  // A tile's element offsets from its first row fit i32 (attendTiles).
  ok = h.andI(ok, h.cmpI(P::ult, md.getStrides()[2], h.idx(int64_t(1) << 26)));
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

bool DecodeKernelConfig::setSchedule(int64_t phase1, int64_t pre,
                                     bool lengths, int64_t minBlocks) {
  if (phase1 < 0 || phase1 > 64 || pre < 1 || pre > kStages ||
      minBlocks < 0 || minBlocks > 8)
    return false;
  phase1Tiles = phase1;
  preIssue = pre;
  fusedLengths = lengths;
  this->minBlocks = minBlocks;
  return true;
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
  MLIRContext *ctx = b.getContext();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Type f32 = b.getF32Type();

  // The tile kernel (attendTiles): a block per (row, split), its shared
  // memory views of the dynamic window (the lowering puts a 1-byte static
  // variable ahead of the window: 128 more bytes keep the views inside
  // the block's shared memory wherever the window starts).
  auto tileKernel = [&](bool fused) {
    FlatView fk = flatten(b, o.keys), fv = flatten(b, o.values),
             fq = flatten(b, o.q);
    TileLayout layout(cfg.d);
    Value bytes =
        arith::ConstantIntOp::create(b, b.getI32Type(), layout.total + 128);
    launch(
        b, h.mul(rows, splits), h.idx(kTileThreads),
        [&](Value tid, Value bid) {
          Value dyn = gpu::DynamicSharedMemoryOp::create(
              b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                 MemRefLayoutAttrInterface{}, wg));
          auto view = [&](int64_t offset, ArrayRef<int64_t> shape,
                          Type elem) -> Value {
            return memref::ViewOp::create(
                b, MemRefType::get(shape, elem, MemRefLayoutAttrInterface{}, wg),
                dyn, h.idx(offset), ValueRange{});
          };
          const int64_t D = cfg.d, S = kStages;
          TileShared sh{
              view(layout.keys, {kTileWarps, S, kWarpSlots, D}, cfg.elem),
              view(layout.values, {kTileWarps, S, kWarpSlots, D}, cfg.elem),
              view(layout.stat, {kTileWarps, 2, kRowsPerPass}, f32),
              view(layout.dirty, {2}, b.getI32Type()),
              view(0, {kTileWarps, kRowsPerPass, D}, f32)};
          Value split = h.remu(bid, splits), r = h.divu(bid, splits);
          Value bi = h.divu(r, hkv), g = h.remu(r, hkv);
          // Whole tiles per split (the pass sized the splits so).
          const int64_t T = DecodeKernelConfig::kTileSlots;
          Value tiles = h.divu(h.add(slots, h.idx(T - 1)), h.idx(T));
          Value chunk =
              h.mul(h.divu(h.add(tiles, h.sub(splits, h.idx(1))), splits),
                    h.idx(T));
          Value lo = h.minI(h.mul(split, chunk), slots);
          Value hi = h.minI(h.add(lo, chunk), slots);
          attendTiles(h, cfg, o, sh, fk, fv, fq, tid, bi, g, group, split, lo,
                      hi, fused);
        },
        bytes, cfg.minBlocks);
  };

  // One split per row of aligned contiguous elements (large batches): one
  // launch updates each row and attends over it (the tile kernel, fused),
  // then the lengths advance (a launch of its own: a row's block cannot
  // know when the other rows of its sequence have read the length).
  // (The tile kernels' slot arithmetic is i32: rows of fewer than 2^30
  // slots.)
  Value fast = h.andI(vectorizable(h, o.keys), vectorizable(h, o.values));
  if (cfg.k + cfg.window >= (int64_t(1) << 30))
    fast = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
  fast = h.andI(fast, h.cmpI(P::ult, slots, h.idx(int64_t(1) << 30)));
  Value direct = h.andI(fast, h.andI(h.cmpI(P::eq, splits, h.idx(1)),
                                     h.cmpI(P::ugt, rows, h.idx(0))));
  auto pick = scf::IfOp::create(b, direct, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(pick.thenBlock()->getTerminator());
  tileKernel(/*fused=*/true);
  if (!cfg.fusedLengths)
    launch(b,
           h.divu(h.add(batch, h.idx(kTileThreads - 1)), h.idx(kTileThreads)),
           h.idx(kTileThreads), [&](Value tid, Value bid) {
             Value bi = h.add(h.mul(bid, h.idx(kTileThreads)), tid);
             h.ifThen(h.cmpI(P::ult, bi, batch),
                      [&] { advanceLength(h, o.lengths, bi); });
           });

  // Otherwise: 1. the update, a warp per row;
  b.setInsertionPoint(pick.elseBlock()->getTerminator());
  // The attention's blocks may be scheduled at once (programmatic
  // dependent launch, sm_90+): its split tile kernel computes the window
  // tiles the update leaves alone while the update runs, then waits for
  // it. (The sparsek-gpu-grid-dependency pass puts this kernel's own wait
  // for its predecessor first, ahead of the trigger: whatever the
  // attention reads before its wait was written before that.)
  launch(b, rows, h.idx(kWarp), [&](Value tid, Value bid) {
    NVVM::GriddepcontrolOp::create(b,
                                   NVVM::GridDepActionKind::launch_dependents);
    Value bi = h.divu(bid, hkv), g = h.remu(bid, hkv);
    updateRow(h, cfg, o, tid, bi, g,
              sweepShared(h, module, h.dim(o.bandScores, 3)));
  });
  // 2. the attention, a block per (row, split): the tile kernel on rows
  // of aligned contiguous elements, otherwise a warp per query head;
  auto kind = scf::IfOp::create(b, fast, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPoint(kind.thenBlock()->getTerminator());
    tileKernel(/*fused=*/false);
    b.setInsertionPoint(kind.elseBlock()->getTerminator());
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
  // 3. the combine and the lengths: a block per (batch, query head) (per
  // sequence when there are no query heads).
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
  if (!cfg.defaultSchedule())
    os << "_p" << cfg.phase1Tiles << "_i" << cfg.preIssue
       << (cfg.fusedLengths ? "_l" : "");
  if (cfg.minBlocks > 0)
    os << "_m" << cfg.minBlocks;
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
        attrs.append("phase1_tiles", mb.getI64IntegerAttr(cfg.phase1Tiles));
        attrs.append("pre_issue", mb.getI64IntegerAttr(cfg.preIssue));
        attrs.append("fused_lengths", mb.getBoolAttr(cfg.fusedLengths));
        attrs.append("min_blocks", mb.getI64IntegerAttr(cfg.minBlocks));
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
  auto phase1 = dict.getAs<IntegerAttr>("phase1_tiles"),
       pre = dict.getAs<IntegerAttr>("pre_issue");
  auto lengths = dict.getAs<BoolAttr>("fused_lengths");
  auto minBlocks = dict.getAs<IntegerAttr>("min_blocks");
  if (!elem || !gate || !scale || !d || !k || !w || !phase1 || !pre ||
      !lengths || !minBlocks)
    return std::nullopt;
  auto cfg = DecodeKernelConfig::create(
      elem.getValue(), d.getInt(), d.getInt(), k.getInt(), w.getInt(),
      scale.getValueAsDouble(), gate.getValue());
  if (!cfg ||
      !cfg->setSchedule(phase1.getInt(), pre.getInt(), lengths.getValue(),
                        minBlocks.getInt()))
    return std::nullopt;
  return cfg;
}

} // namespace mlir::sparsek::gpu_kernels
