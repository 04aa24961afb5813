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
// One thread block per (batch, head, query block), kThreads threads, over
// one list: the sample's selection (none for a sample, whose first entries
// are in place), then the consecutive keys from the sample's candidate
// count up to the block's last query's, the keys below c(i0_b) tested
// against kthRank(i0_b) and the newcomers against the kth rank of the
// query they arrive with. The list goes through in chunks of kPerThread *
// kThreads entries: every thread issues the loads of its kPerThread
// entries first (a sample key, a newcomer's kth rank, the key's rank:
// independent, so their latencies overlap), then per entry a warp ballot
// and popc give its place among the passing ones, the warps' counts meet
// in shared memory behind one barrier, and the passing keys are stored in
// list order. Then -1 up to the row's width, and the count. (One entry
// per thread and chunk, the sample's keys and the newcomers in two
// passes: 27.1 us at M = 65536, two rows, 4096 blocks; this form: 19.8 us;
// the 4592 x 2 blocks of the walk per entry and the count forall it
// replaces: 79.7 + 8.0 us. NOTES runs 152-153.)
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
/// List entries per thread and chunk (the lists hold up to about 3k keys).
constexpr int64_t kPerThread = 4;

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
  auto warpCountsType = MemRefType::get({kPerThread * kWarps}, i32,
                                        MemRefLayoutAttrInterface{}, wg);
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
  // Query i's candidates are the keys [0, c(i)).
  auto candidates = [&](Value i) {
    return detail::candidateCount(b, i, m, n, p.window);
  };
  Value warpCounts =
      memref::GetGlobalOp::create(b, warpCountsType, warpCountsName);
  auto store = [&](Value v, Value mem, ValueRange i) {
    memref::StoreOp::create(b, v, mem, i);
  };
  // An i32 from an scf.if (detail::ifElse) of one-value branches.
  auto ifElse = [&](Value cond, function_ref<Value()> then,
                    function_ref<Value()> otherwise) {
    return detail::ifElse(
        b, cond, {i32},
        [&](ImplicitLocOpBuilder &) { return SmallVector<Value>{then()}; },
        [&](ImplicitLocOpBuilder &) {
          return SmallVector<Value>{otherwise()};
        })[0];
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
    // The block's list: its sample's first selection (none for a sample
    // itself, whose entries [0, nFirst) are in place), then the keys from
    // the sample's c (its own c0 for a sample) up to c1. Keys below c0
    // pass with the first query's kth rank, the newcomers with that of the
    // query they arrive with.
    Value sample = h.mul(h.divu(blk, stride), stride);
    Value isSample = h.cmpI(P::eq, sample, blk);
    Value cs = h.sel(isSample, c0, candidates(h.mul(sample, bq)));
    Value nS = h.sel(isSample, zero, h.minI(kIdx, cs));
    Value firstLen = h.add(nS, h.sub(c0, cs));
    Value len = h.add(nS, h.sub(c1, cs));
    Value need0 = h.load(kthRank, {bi, hi, i0});
    Value lane32 = h.toI32(lane);
    Value lanesBelow = arith::SubIOp::create(
        b, arith::ShLIOp::create(b, constI32(b, 1), lane32), constI32(b, 1));

    // Chunks of kPerThread * kThreads list entries, entry t = chunk start +
    // e * kThreads + tid for e < kPerThread: every thread's loads first
    // (independent, so they overlap), then per e a ballot, the warps'
    // counts to shared memory, one barrier, and the passing keys stored in
    // list order.
    int64_t chunk = kPerThread * kThreads;
    auto loop = scf::ForOp::create(b, zero, len, h.idx(chunk),
                                   ValueRange{h.sel(isSample, nFirst, zero)});
    {
      OpBuilder::InsertionGuard lg(b);
      b.setInsertionPointToStart(loop.getBody());
      Value at = loop.getRegionIterArgs()[0];
      SmallVector<Value> ts, inRange, key, need, pass;
      for (int64_t e = 0; e < kPerThread; ++e) {
        Value t = h.add(loop.getInductionVar(), h.add(tid, h.idx(e * kThreads)));
        ts.push_back(t);
        inRange.push_back(h.cmpI(P::ult, t, len));
        // Out of the list: key 0 (a valid address; M >= 1 when len > 0).
        key.push_back(ifElse(
            h.andI(inRange[e], h.cmpI(P::ult, t, nS)),
            [&] { return h.load(keys, {bi, hi, sample, t}); },
            [&] {
              return h.toI32(
                  h.sel(inRange[e], h.add(cs, h.sub(t, nS)), zero));
            }));
      }
      for (int64_t e = 0; e < kPerThread; ++e) {
        Value j = h.toIdx(key[e]);
        need.push_back(ifElse(
            h.andI(inRange[e], h.cmpI(P::uge, ts[e], firstLen)),
            [&] {
              Value arrive = detail::arrivalQuery(b, j, m, n, p.window);
              return h.load(kthRank, {bi, hi, arrive});
            },
            [&] { return need0; }));
      }
      for (int64_t e = 0; e < kPerThread; ++e) {
        Value rj = h.load(rank, {bi, hi, h.toIdx(key[e])});
        pass.push_back(h.andI(inRange[e], h.cmpI(P::sge, rj, need[e])));
      }
      SmallVector<Value> before;
      for (int64_t e = 0; e < kPerThread; ++e) {
        Value ballot = NVVM::VoteSyncOp::create(
            b, i32, constI32(b, -1), pass[e],
            NVVM::VoteSyncKindAttr::get(ctx, NVVM::VoteSyncKind::ballot));
        before.push_back(math::CtPopOp::create(
            b, arith::AndIOp::create(b, ballot, lanesBelow)));
        h.ifThen(h.cmpI(P::eq, lane, zero), [&] {
          store(math::CtPopOp::create(b, ballot), warpCounts,
                {h.add(h.idx(e * kWarps), warp)});
        });
      }
      gpu::BarrierOp::create(b);
      // Entry t's place: the passing entries of the earlier slots e' < e,
      // then of the earlier warps in slot e, then of the lanes below.
      Value done = constI32(b, 0);
      for (int64_t e = 0; e < kPerThread; ++e) {
        Value offset = done;
        for (int64_t w = 0; w < kWarps; ++w) {
          Value cw = h.load(warpCounts, {h.idx(e * kWarps + w)});
          offset = h.add(offset, h.sel(h.cmpI(P::ult, h.idx(w), warp), cw,
                                       constI32(b, 0)));
          done = h.add(done, cw);
        }
        h.ifThen(pass[e], [&] {
          Value place = h.add(at, h.toIdx(h.add(offset, before[e])));
          store(key[e], keys, {bi, hi, blk, place});
        });
      }
      // The counts are read before the next chunk writes them.
      gpu::BarrierOp::create(b);
      scf::YieldOp::create(b, ValueRange{h.add(at, h.toIdx(done))});
    }
    Value filled = loop.getResult(0);
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
