//===- UnionBlocksKernel.cpp - block_select's unions by compaction -------===//
//
// block_select's union of query block b (docs/Semantics.md, block form):
// its first query i0's selection S(i0) in ascending key order, then the
// keys arriving with its later queries that they select, then -1. The
// parallel selection's foralls find entry e of S(i0) by a walk down W2 per
// entry (a chain of ~L4 dependent loads, each an L2 sector: 81 us at M =
// 65536 on an H200, NOTES run 150). Here only every stride-th block (the
// samples, detail::unionSampleStride) is walked, by the forall before this
// launch; every other block b filters its sample s's list:
//
//   S(i0_b) = { j in S(i0_s) + [c(i0_s), c(i0_b)) : rank j >= kthRank(i0_b) }
//
// because the kth best candidate never decreases as the prefix grows
// (a key of S(i0_b) below c(i0_s) was a candidate of i0_s at least as good
// as its kth), and both parts are in ascending key order. With fewer than
// k candidates kthRank is -1 and every candidate passes.
//
// One thread block per (batch, head, query block), kThreads threads; the
// lists go through in chunks of kThreads: each thread tests one key, a warp
// ballot and popc give its place among the chunk's passing keys, the
// warps' counts meet in shared memory, and passing keys are stored in
// order (consecutive threads, consecutive entries). The same for the
// newcomers (key j passes when rank j >= kthRank of the query it arrives
// with), then -1 up to the row's width, and the count.
//
// Stub kind "union_blocks", attributes k, window, block_q: operands
// kth_rank [B, H, N] i32, rank [B, H, M] i32, union_keys [B, H, NB, W]
// i32 (the samples' first entries read, the rest written), union_count
// [B, H, NB] i32 (written).
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Emitters.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::sparsek::gpu_kernels {

namespace {

using P = arith::CmpIPredicate;

constexpr int64_t kThreads = 256;
constexpr int64_t kWarps = kThreads / 32;

} // namespace

SmallVector<Type> unionBlocksStubOperandTypes(MLIRContext *ctx) {
  Type i32 = IntegerType::get(ctx, 32);
  return {dynStridedMemRef(ctx, 3, i32), dynStridedMemRef(ctx, 3, i32),
          dynStridedMemRef(ctx, 4, i32), dynStridedMemRef(ctx, 3, i32)};
}

func::FuncOp getOrCreateUnionBlocksStub(ModuleOp module,
                                        const UnionBlocksParams &p) {
  return getOrCreateStub(
      module,
      "sparsek_union_blocks_k" + std::to_string(p.k) + "_w" +
          std::to_string(p.window) + "_b" + std::to_string(p.blockQ),
      unionBlocksStubOperandTypes(module.getContext()), "union_blocks",
      [&](OpBuilder &mb, NamedAttrList &attrs) {
        attrs.append("k", mb.getI64IntegerAttr(p.k));
        attrs.append("window", mb.getI64IntegerAttr(p.window));
        attrs.append("block_q", mb.getI64IntegerAttr(p.blockQ));
      });
}

std::optional<UnionBlocksParams> unionBlocksStubParams(func::FuncOp f) {
  DictionaryAttr dict = stubAttrsOfKind(f, {"union_blocks"});
  if (!dict)
    return std::nullopt;
  auto k = dict.getAs<IntegerAttr>("k");
  auto w = dict.getAs<IntegerAttr>("window");
  auto bq = dict.getAs<IntegerAttr>("block_q");
  if (!k || !w || !bq || k.getInt() < 0 || w.getInt() < 0 ||
      bq.getInt() < 1)
    return std::nullopt;
  return UnionBlocksParams{k.getInt(), w.getInt(), bq.getInt()};
}

void buildUnionBlocksLaunch(ImplicitLocOpBuilder &b, ModuleOp module,
                            const UnionBlocksParams &p,
                            ArrayRef<Value> operands) {
  Value kthRank = operands[0], rank = operands[1], keys = operands[2],
        counts = operands[3];
  ScalarOps h{b};
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto warpCountsType =
      MemRefType::get({kWarps}, i32, MemRefLayoutAttrInterface{}, wg);
  const char *warpCountsName = "sparsek_union_warp_counts";
  declareWorkgroupGlobal(module, b.getLoc(), warpCountsName, warpCountsType,
                         16);

  auto dim = [&](Value m, int64_t i) { return memref::DimOp::create(b, m, i); };
  Value heads = dim(kthRank, 1), n = dim(kthRank, 2), m = dim(rank, 2);
  Value nb = dim(keys, 2), width = dim(keys, 3);
  Value rows = h.mul(dim(kthRank, 0), heads);
  Value total = h.mul(rows, nb);
  Value one = h.idx(1), zero = h.idx(0);
  auto launch = gpu::LaunchOp::create(b, h.maxI(total, one), one, one,
                                      h.idx(kThreads), one, one);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value tid = launch.getThreadIds().x, bid = launch.getBlockIds().x;
  Value lane = h.remu(tid, h.idx(32)), warp = h.divu(tid, h.idx(32));
  Value kIdx = h.idx(p.k), bq = h.idx(p.blockQ);
  Value stride = h.idx(detail::unionSampleStride(p.k, p.blockQ));
  // c(i): the candidates of query i (keys [0, c) lie at or before p(i) - w).
  // i + M + 1 - N - w, clamped to [0, M] (signed: it can be negative).
  auto candidates = [&](Value i) {
    Value c = h.sub(h.add(h.add(i, m), h.idx(1)), h.add(n, h.idx(p.window)));
    return h.minI(h.maxI(c, zero), m);
  };
  Value warpCounts =
      memref::GetGlobalOp::create(b, warpCountsType, warpCountsName);
  auto store = [&](Value v, Value mem, ValueRange i) {
    memref::StoreOp::create(b, v, mem, i);
  };

  // Every thread of a block takes the same branches (barriers and ballots
  // inside).
  h.ifThen(h.cmpI(P::ult, bid, total), [&] {
    Value row = h.divu(bid, nb), blk = h.remu(bid, nb);
    Value bi = h.divu(row, heads), hi = h.remu(row, heads);
    Value i0 = h.mul(blk, bq);
    Value i1 = h.sub(h.minI(h.add(i0, bq), n), one);
    Value c0 = candidates(i0), c1 = candidates(i1);
    Value nFirst = h.minI(kIdx, c0);

    // Appends the keys list(t), t in [0, len), that pass(t) selects, in
    // order, at entries [base, ...) of this block's union; returns base
    // plus their count (the same value in every thread).
    auto compact = [&](Value base, Value len,
                       function_ref<std::pair<Value, Value>(Value)> test) {
      auto loop = scf::ForOp::create(b, zero, len, h.idx(kThreads), {base});
      OpBuilder::InsertionGuard lg(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = h.add(loop.getInductionVar(), tid);
      Value at = loop.getRegionIterArgs()[0];
      Value inRange = h.cmpI(P::ult, t, len);
      auto tested = scf::IfOp::create(b, TypeRange{i32, b.getI1Type()}, inRange,
                                      /*withElse=*/true);
      {
        OpBuilder::InsertionGuard ig(b);
        b.setInsertionPointToStart(tested.thenBlock());
        auto [key, pass] = test(t);
        scf::YieldOp::create(b, ValueRange{key, pass});
        b.setInsertionPointToStart(tested.elseBlock());
        scf::YieldOp::create(
            b, ValueRange{constI32(b, -1),
                          arith::ConstantIntOp::create(b, 0, 1).getResult()});
      }
      Value key = tested.getResult(0), pass = tested.getResult(1);
      Value ballot = NVVM::VoteSyncOp::create(
          b, i32, constI32(b, -1), pass,
          NVVM::VoteSyncKindAttr::get(ctx, NVVM::VoteSyncKind::ballot));
      Value lane32 = h.toI32(lane);
      Value below = arith::SubIOp::create(
          b, arith::ShLIOp::create(b, constI32(b, 1), lane32), constI32(b, 1));
      Value before = math::CtPopOp::create(
          b, arith::AndIOp::create(b, ballot, below));
      h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
        store(math::CtPopOp::create(b, ballot), warpCounts, {warp});
      });
      gpu::BarrierOp::create(b);
      // This warp's offset and the chunk's count, from kWarps counts.
      Value offset = constI32(b, 0), chunk = constI32(b, 0);
      for (int64_t w = 0; w < kWarps; ++w) {
        Value cw = h.load(warpCounts, {h.idx(w)});
        offset = h.add(offset, h.sel(h.cmpI(P::ult, h.idx(w), warp), cw,
                                     constI32(b, 0)));
        chunk = h.add(chunk, cw);
      }
      h.ifThen(pass, [&] {
        Value e = h.add(at, h.toIdx(h.add(offset, before)));
        store(key, keys, {bi, hi, blk, e});
      });
      // The counts are read before the next chunk writes them.
      gpu::BarrierOp::create(b);
      scf::YieldOp::create(b, ValueRange{h.add(at, h.toIdx(chunk))});
      return loop.getResult(0);
    };

    // The first query's selection: a sample's is there already; another
    // block filters its sample's and the keys arrived since.
    Value sample = h.mul(h.divu(blk, stride), stride);
    Value need0 = h.load(kthRank, {bi, hi, i0});
    auto first = scf::IfOp::create(b, b.getIndexType(),
                                   h.cmpI(P::eq, sample, blk),
                                   /*withElse=*/true);
    {
      OpBuilder::InsertionGuard ig(b);
      b.setInsertionPointToStart(first.thenBlock());
      scf::YieldOp::create(b, nFirst);
      b.setInsertionPointToStart(first.elseBlock());
      Value cs = candidates(h.mul(sample, bq));
      Value nSample = h.minI(kIdx, cs);
      Value len = h.add(nSample, h.sub(c0, cs));
      Value done = compact(zero, len, [&](Value t) {
        Value fromSample = h.cmpI(P::ult, t, nSample);
        auto key = scf::IfOp::create(b, i32, fromSample, /*withElse=*/true);
        {
          OpBuilder::InsertionGuard kg(b);
          b.setInsertionPointToStart(key.thenBlock());
          scf::YieldOp::create(b, h.load(keys, {bi, hi, sample, t}));
          b.setInsertionPointToStart(key.elseBlock());
          scf::YieldOp::create(b, h.toI32(h.add(cs, h.sub(t, nSample))));
        }
        Value j = key.getResult(0);
        Value rj = h.load(rank, {bi, hi, h.toIdx(j)});
        return std::make_pair(j, h.cmpI(P::sge, rj, need0));
      });
      scf::YieldOp::create(b, done);
    }
    // The newcomers: key j in [c0, c1) arrives with query
    // max(0, j - M + N + w) and passes when its rank is at least that
    // query's kth rank.
    Value filled = compact(first.getResult(0), h.sub(c1, c0), [&](Value t) {
      Value j = h.add(c0, t);
      Value arrive = h.maxI(h.sub(h.add(j, h.add(n, h.idx(p.window))), m), zero);
      Value need = h.load(kthRank, {bi, hi, arrive});
      Value rj = h.load(rank, {bi, hi, j});
      return std::make_pair(h.toI32(j), h.cmpI(P::sge, rj, need));
    });
    // -1 up to the width, and the count.
    auto pad = scf::ForOp::create(b, h.add(filled, tid), width,
                                  h.idx(kThreads));
    {
      OpBuilder::InsertionGuard pg(b);
      b.setInsertionPointToStart(pad.getBody());
      store(constI32(b, -1), keys, {bi, hi, blk, pad.getInductionVar()});
    }
    h.ifThen(h.cmpI(P::eq, tid, zero),
             [&] { store(h.toI32(filled), counts, {bi, hi, blk}); });
  });
  gpu::TerminatorOp::create(b);
}

} // namespace mlir::sparsek::gpu_kernels
