//===- SparseKToGPUPass.cpp - layers to the tensor-core kernel ------------===//
//
// convert-sparsek-to-gpu (Passes.td): block attention, and the causal
// layer's attention after its block selection, as launches of the kernel
// that AttentionKernel.cpp builds.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "Tuning.h"

#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"
#include "sparsek/Support/SoftmaxScale.h"

// The block selection builders of the linalg lowering.
#include "../SparseKToLinalg/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <functional>
#include <set>


namespace mlir::sparsek {
#define GEN_PASS_DEF_CONVERTSPARSEKTOGPUPASS
#define GEN_PASS_DEF_SPARSEKEXPANDKERNELSTUBSPASS
#include "sparsek/Conversion/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;
using gpu_kernels::AttentionKernelConfig;

namespace {

/// The largest tuning-file read (a table is a few KiB).
constexpr uint64_t kMaxTuningFileBytes = 1 << 20;

/// The head dims (D, Dv) the kernel is built for.
constexpr std::pair<int64_t, int64_t> kHeadDims[] = {
    {128, 128}, {64, 64}, {128, 64}, {64, 128}};

/// The kernel configurations an attention may need (q, key, value types,
/// block of queries and heads per block, window, scale attribute, gate):
/// one for static head dims the kernel covers, one per covered (D, Dv) pair
/// the types allow when a head dim is dynamic (dispatched at run time),
/// none otherwise.
/// Key tiles to try for a kernel's head dims, best first.
using KeyTilesFn = function_ref<SmallVector<int64_t>(int64_t d, int64_t dv)>;

SmallVector<AttentionKernelConfig>
configsFor(Value q, Value key, Value value, int64_t blockQ, int64_t heads,
           KeyTilesFn keyTiles, int64_t window, FloatAttr scaleAttr, Gate gate,
           bool backward) {
  auto qt = cast<RankedTensorType>(q.getType());
  auto kt = cast<RankedTensorType>(key.getType());
  auto vt = cast<RankedTensorType>(value.getType());
  SmallVector<AttentionKernelConfig> cfgs;
  if (qt.getRank() != 4 || kt.getRank() != 4 || vt.getRank() != 4)
    return cfgs;
  Type elem = qt.getElementType();
  if (kt.getElementType() != elem || vt.getElementType() != elem)
    return cfgs;
  auto fits = [](int64_t dim, int64_t v) {
    return ShapedType::isDynamic(dim) || dim == v;
  };
  bool dynamicDims = ShapedType::isDynamic(qt.getDimSize(3)) ||
                     ShapedType::isDynamic(vt.getDimSize(3));
  for (auto [d, dv] : kHeadDims) {
    if (!fits(qt.getDimSize(3), d) || !fits(kt.getDimSize(3), d) ||
        !fits(vt.getDimSize(3), dv))
      continue;
    // A backward with head dims known only at run time gets D = Dv only:
    // each backward kernel is large (its IR is most of a fully dynamic
    // layer's compile time), and mixed head dims are rare; they take the
    // linalg lowering then (static mixed head dims get their kernel).
    if (backward && dynamicDims && d != dv)
      continue;
    double scale = scaleAttr ? scaleAttr.getValueAsDouble()
                             : ::sparsek::defaultSoftmaxScale(d);
    for (int64_t keyTile : keyTiles(d, dv))
      if (auto cfg = AttentionKernelConfig::create(elem, d, dv, blockQ, heads,
                                                   keyTile, window, scale,
                                                   gate, backward)) {
        cfgs.push_back(*cfg);
        break;
      }
  }
  return cfgs;
}

/// Blocks a decode step's attention aims at when no tuning line gives
/// `target-blocks` (splitting each row's slots when the batch has fewer
/// rows; one split per row, the fused kernel, from that many rows on):
/// about one wave of the tile kernels on a Hopper GPU (132 SMs x 2 blocks
/// of 128 threads at their register counts; bench/NOTES.md run 128).
constexpr int64_t kDecodeTargetBlocks = 256;

/// Query heads per thread block the pass tries, best first: the heads of
/// a KV head's group share the block's gathered key and value rows, and
/// pairs of them share each query's membership test and weights.
constexpr int64_t kHeadsPerBlock[] = {4, 2, 1};

/// Whether the head dims are static (no run-time dispatch needed).
bool staticHeadDims(Value q, Value value) {
  return !cast<RankedTensorType>(q.getType()).isDynamicDim(3) &&
         !cast<RankedTensorType>(value.getType()).isDynamicDim(3);
}

/// One kernel layout of an attention: its configurations per head dims,
/// all with the same heads per block and block of queries (never empty).
struct Variant {
  SmallVector<AttentionKernelConfig> cfgs;
  int64_t heads() const { return cfgs.front().heads; }
  int64_t blockQ() const { return cfgs.front().blockQ; }
};

/// `fn` on every configuration of every layout.
void forEachConfig(MutableArrayRef<Variant> variants,
                   function_ref<void(AttentionKernelConfig &)> fn) {
  for (Variant &v : variants)
    for (AttentionKernelConfig &cfg : v.cfgs)
      fn(cfg);
}

/// The layouts to dispatch over, in order: with a static group size
/// (Hq / Hkv) the first that divides it, with a dynamic one the widest
/// layout then the one-head layout (which always fits).
/// `blockQOf(heads)` gives the query block of a head count (0: none).
/// A backward with a dynamic group gets the one-head layout only, unless
/// `packedDynamicGroup`.
SmallVector<Variant>
variantsFor(Value q, Value key, Value value,
            function_ref<int64_t(int64_t)> blockQOf, KeyTilesFn keyTiles,
            int64_t window, FloatAttr scaleAttr, Gate gate,
            bool backward = false, bool packedDynamicGroup = false) {
  auto qt = cast<RankedTensorType>(q.getType());
  auto kt = cast<RankedTensorType>(key.getType());
  SmallVector<Variant> out;
  if (qt.getRank() != 4 || kt.getRank() != 4)
    return out;
  int64_t hq = qt.getDimSize(1), hkv = kt.getDimSize(1);
  bool staticGroup = !ShapedType::isDynamic(hq) &&
                     !ShapedType::isDynamic(hkv) && hkv > 0 && hq % hkv == 0;
  for (int64_t heads : kHeadsPerBlock) {
    if (staticGroup && (hq / hkv) % heads != 0)
      continue;
    // A dynamic group gets the widest layout and the one-head layout only:
    // each layout is its own block selection and kernel per head dims, and
    // a fully dynamic layer with all three took ~3x the compile time.
    if (!staticGroup && heads != kHeadsPerBlock[0] && heads != 1)
      continue;
    // The backward kernel is about four times the forward's IR: with a
    // dynamic group it gets the one-head layout only (any group size; more
    // keys per block than the packed layouts, but half the compile time of
    // a fully dynamic backward, which the fuzzer's 10 s slow-unit limit
    // under ASan would otherwise come close to).
    // packedDynamicGroup keeps the widest layout for a backward given its
    // selection (block_attention_backward): the block size says which
    // layout the caller's group size wants.
    if (backward && !staticGroup && heads != 1 && !packedDynamicGroup)
      continue;
    int64_t blockQ = blockQOf(heads);
    if (blockQ < 1)
      continue;
    auto cfgs = configsFor(q, key, value, blockQ, heads, keyTiles, window,
                           scaleAttr, gate, backward);
    if (cfgs.empty())
      continue;
    out.push_back({std::move(cfgs)});
    if (staticGroup)
      break;
  }
  // A dynamic group needs a layout for every group size: one head last.
  if (!staticGroup && !out.empty() && out.back().heads() != 1)
    out.clear();
  return out;
}

/// Dim `i` of tensor `t`.
Value tensorDim(ImplicitLocOpBuilder &b, Value t, int64_t i) {
  return tensor::DimOp::create(b, t, i);
}

/// A buffer of `elem` with the (all dynamic) `sizes`.
Value allocBuffer(ImplicitLocOpBuilder &b, ArrayRef<Value> sizes, Type elem) {
  return memref::AllocOp::create(
      b,
      MemRefType::get(SmallVector<int64_t>(sizes.size(), ShapedType::kDynamic),
                      elem),
      sizes);
}

/// `buf` filled with `v`.
void fillBuffer(ImplicitLocOpBuilder &b, Value buf, TypedAttr v) {
  linalg::FillOp::create(b, ValueRange{arith::ConstantOp::create(b, v)},
                         ValueRange{buf});
}

/// `buf` filled with zeros of its element type.
void zeroBuffer(ImplicitLocOpBuilder &b, Value buf) {
  fillBuffer(b, buf,
             b.getZeroAttr(cast<MemRefType>(buf.getType()).getElementType()));
}

/// allocBuffer, zeroed.
Value zeroedBuffer(ImplicitLocOpBuilder &b, ArrayRef<Value> sizes, Type elem) {
  Value buf = allocBuffer(b, sizes, elem);
  zeroBuffer(b, buf);
  return buf;
}

/// An scf.if chain: `body(cb, i)` under `cond(cb, i)` for i < count - 1,
/// the last body in the final else (or alone when count is 1).
void chainIf(ImplicitLocOpBuilder &b, size_t count,
             function_ref<Value(ImplicitLocOpBuilder &, size_t)> cond,
             function_ref<void(ImplicitLocOpBuilder &, size_t)> body,
             size_t i = 0) {
  if (i + 1 >= count) {
    body(b, i);
    return;
  }
  auto ifOp = scf::IfOp::create(b, cond(b, i), /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body(b, i);
  b.setInsertionPointToStart(ifOp.elseBlock());
  chainIf(b, count, cond, body, i + 1);
}

struct ConvertSparseKToGPUPass
    : mlir::sparsek::impl::ConvertSparseKToGPUPassBase<ConvertSparseKToGPUPass> {
  using ConvertSparseKToGPUPassBase::ConvertSparseKToGPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < 0 || keyTile < 0) {
      module.emitError() << "invalid block-size " << blockSize.getValue()
                         << " or key-tile " << keyTile.getValue()
                         << ": expected positive sizes (0: the tuning "
                            "table's)";
      return signalPassFailure();
    }
    if (pingPong < -1 || pingPong > 1) {
      module.emitError() << "invalid ping-pong " << pingPong.getValue()
                         << ": expected 0, 1 or -1 (the tuning table's)";
      return signalPassFailure();
    }
    if (wgmma < -1 || wgmma > 1) {
      module.emitError() << "invalid wgmma " << wgmma.getValue()
                         << ": expected 0, 1 or -1 (the tuning table's)";
      return signalPassFailure();
    }
    if (wgmma == 1 && StringRef(chip) != AttentionKernelConfig::kWgmmaChip) {
      module.emitError() << "wgmma=1 needs chip="
                         << AttentionKernelConfig::kWgmmaChip << " (wgmma is an "
                         << AttentionKernelConfig::kWgmmaChip
                         << " instruction), not '" << chip.getValue() << "'";
      return signalPassFailure();
    }
    if (failed(loadTuning(module)))
      return signalPassFailure();
    SmallVector<Operation *> work;
    module.walk([&](Operation *op) {
      if (isa<DecodeStepOp>(op) ||
          isa<BlockAttentionOp>(op) ||
          (isa<AttentionOp>(op) && cast<AttentionOp>(op).getCausal()) ||
          (isa<AttentionBackwardOp>(op) &&
           cast<AttentionBackwardOp>(op).getCausal()) ||
          isa<BlockAttentionBackwardOp>(op) ||
          (parallelSelection &&
           isa<ThresholdOp, TopKOp, BlockSelectOp>(op)))
        work.push_back(op);
    });
    for (Operation *op : work) {
      if (isa<ThresholdOp, TopKOp, BlockSelectOp>(op))
        rewriteSelection(op);
      else if (auto ds = dyn_cast<DecodeStepOp>(op))
        rewrite(ds);
      else if (auto ba = dyn_cast<BlockAttentionOp>(op))
        rewrite(ba);
      else if (auto bw = dyn_cast<AttentionBackwardOp>(op))
        rewrite(bw);
      else if (auto bbw = dyn_cast<BlockAttentionBackwardOp>(op))
        rewrite(bbw);
      else
        rewrite(cast<AttentionOp>(op));
    }
  }

private:
  /// The user's tuning table (tuning-file), when given.
  std::optional<tuning::Table> userTable;
  /// The print-tuning remarks emitted, per op location.
  std::set<std::pair<const void *, std::string>> reported;

  /// Checks the tuning options, reads tuning-file and checks the built-in
  /// table (a malformed line is an error naming it).
  LogicalResult loadTuning(ModuleOp module) {
    auto fail = [&](const Twine &msg) {
      module.emitError() << msg;
      return failure();
    };
    // Each decode option (decode-<the table's parameter>): -1 (the
    // table's) or a value the table's line could give.
    for (auto [name, value] :
         {std::make_pair("phase1-tiles", decodePhase1Tiles.getValue()),
          std::make_pair("pre-issue", decodePreIssue.getValue()),
          std::make_pair("fused-lengths", decodeFusedLengths.getValue()),
          std::make_pair("min-blocks", decodeMinBlocks.getValue()),
          std::make_pair("target-blocks", decodeTargetBlocks.getValue())}) {
      const tuning::Param *p = tuning::findParam("decode", name);
      assert(p && p->multiple == 1 && "a decode option without its range");
      if (value != -1 && (value < p->lo || value > p->hi))
        return fail("invalid decode-" + Twine(name) + " " + Twine(value) +
                    ": expected " + Twine(p->lo) +
                    (p->hi == p->lo + 1 ? " or " : " to ") + Twine(p->hi) +
                    ", or -1 (the tuning table's)");
    }
    std::string error;
    tuning::Table::builtin(&error);
    if (!error.empty())
      return fail("malformed built-in tuning table: " + error);
    userTable.reset();
    reported.clear();
    if (tuningFile.empty())
      return success();
    // A regular file of bounded size (not a device such as /dev/zero).
    llvm::sys::fs::file_status status;
    if (!llvm::sys::fs::status(std::string(tuningFile), status) &&
        (status.type() != llvm::sys::fs::file_type::regular_file ||
         status.getSize() > kMaxTuningFileBytes))
      return fail("tuning-file '" + tuningFile +
                  "' must be a regular file of at most 1 MiB");
    auto buffer = llvm::MemoryBuffer::getFile(tuningFile, /*IsText=*/true);
    if (!buffer)
      return fail("cannot read tuning-file '" + tuningFile + "': " +
                  buffer.getError().message());
    userTable = tuning::Table::parse((*buffer)->getBuffer(),
                                     std::string(tuningFile), error);
    if (!userTable)
      return fail("malformed tuning-file: " + error);
    return success();
  }

  /// The keys of an op's configuration (unknown where dynamic).
  tuning::Key keyOf(StringRef kind, Value q, Value key, Value value,
                    int64_t k, int64_t window) const {
    auto qt = cast<RankedTensorType>(q.getType());
    auto kt = cast<RankedTensorType>(key.getType());
    auto vt = cast<RankedTensorType>(value.getType());
    tuning::Key out;
    out.kind = kind.str();
    out.chip = chip;
    Type elem = qt.getElementType();
    out.elem = elem.isF32() ? "f32" : elem.isF16() ? "f16"
                                    : elem.isBF16() ? "bf16" : "";
    auto stat = [](int64_t v) { return ShapedType::isDynamic(v) ? -1 : v; };
    if (qt.getRank() == 4 && kt.getRank() == 4 && vt.getRank() == 4) {
      out.d = stat(qt.getDimSize(3));
      out.dv = stat(vt.getDimSize(3));
      int64_t hq = qt.getDimSize(1), hkv = kt.getDimSize(1);
      if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
          hkv > 0 && hq % hkv == 0)
        out.group = hq / hkv;
    }
    out.k = k;
    out.window = window;
    return out;
  }

  /// Parameter `name` for `key`: the option when `given`, else the most
  /// specific tuning line's (the user's file first), else `fallback`;
  /// reported as a remark at `op` with print-tuning.
  int64_t tuned(Operation *op, const tuning::Key &key, StringRef name,
                std::optional<int64_t> given, int64_t fallback) {
    int64_t value = fallback;
    std::string from = "no tuning line: default";
    if (given) {
      value = *given;
      from = "pass option";
    } else {
      // A table's most specific line for `key`, when it gives `name`.
      auto lineOf = [&](const tuning::Table &t) -> const tuning::Entry * {
        const tuning::Entry *e = t.lookup(key);
        return e && e->params.count(name.str()) ? e : nullptr;
      };
      const tuning::Entry *e = userTable ? lineOf(*userTable) : nullptr;
      if (!e)
        e = lineOf(tuning::Table::builtin());
      if (e) {
        value = e->params.at(name.str());
        from = e->origin;
      }
    }
    if (printTuning) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "tuning ";
      key.print(os);
      os << ": " << name << "=" << value << " (" << from << ")";
      // Once per location and choice (an op's layouts ask for the same
      // key tiles).
      if (reported.insert({op->getLoc().getAsOpaquePointer(), text}).second)
        op->emitRemark() << text;
    }
    return value;
  }

  /// The block size (rows) of an attention op's layouts.
  int64_t rowsFor(Operation *op, const tuning::Key &key) {
    return tuned(op, key, "block-size",
                 blockSize > 0 ? std::optional<int64_t>(blockSize)
                               : std::nullopt,
                 128);
  }

  /// Whether an attention op's forward kernels of eight warps run in two
  /// groups half a tile apart (ping-pong).
  bool pingPongFor(Operation *op, const tuning::Key &key) {
    return tuned(op, key, "ping-pong",
                 pingPong >= 0 ? std::optional<int64_t>(pingPong)
                               : std::nullopt,
                 0) != 0;
  }

  /// The forward kernels' schedule: the log-sum-exp output when asked for,
  /// ping-pong where the table (or the option) says and the kernel has
  /// eight warps.
  void setForward(SmallVector<Variant> &variants, Operation *op,
                  const tuning::Key &key, bool lse) {
    bool pp = pingPongFor(op, key);
    // wgmma only where the cubin is sm_90a's (a table line for another
    // chip never asks for it; the option was checked against the chip).
    bool wg = StringRef(chip) == AttentionKernelConfig::kWgmmaChip &&
              tuned(op, key, "wgmma",
                    wgmma >= 0 ? std::optional<int64_t>(wgmma) : std::nullopt,
                    0) != 0;
    forEachConfig(variants, [&](AttentionKernelConfig &cfg) {
      cfg.lse = lse;
      cfg.pingpong = pp && cfg.pingPongAllowed();
      // (the Q tile added: back to mma.sync where it does not fit.)
      cfg.wgmma = wg && cfg.wgmmaAllowed();
      if (cfg.wgmma &&
          cfg.sharedBytes() > AttentionKernelConfig::kMaxSharedBytes)
        cfg.wgmma = false;
    });
  }

  /// The key tiles to try for each kernel's head dims: the given key-tile
  /// alone, or the table's (`param`: key-tile for the forward kernels,
  /// backward-key-tile for the backward ones) then smaller multiples of 16
  /// (a tile whose stages exceed the kernel's shared memory does not
  /// build).
  std::function<SmallVector<int64_t>(int64_t, int64_t)>
  keyTilesFor(Operation *op, tuning::Key key,
              StringRef param = "key-tile") {
    return [this, op, key, param](int64_t d, int64_t dv) mutable {
      if (keyTile > 0)
        return SmallVector<int64_t>{keyTile};
      key.d = d;
      key.dv = dv;
      SmallVector<int64_t> tiles;
      for (int64_t t = tuned(op, key, param, std::nullopt, 32); t >= 16;
           t -= 16)
        tiles.push_back(t);
      return tiles;
    };
  }

  /// A decode step with static head dims the kernel covers: its three
  /// launches (DecodeKernel.cpp) on the state's buffers, in place (a
  /// sparsek.kernel_call, destination-passing), with a scratch of partial
  /// softmax states for the splits of each row's slots. Other steps keep
  /// the linalg lowering.
  void rewrite(DecodeStepOp op) {
    auto qt = op.getQ().getType(), vt = op.getValue().getType();
    if (qt.isDynamicDim(3) || vt.isDynamicDim(3))
      return;
    int64_t k = op.getK(), window = op.getWindow();
    double scale = op.getStaticScale().value_or(0.0);
    auto cfg = gpu_kernels::DecodeKernelConfig::create(
        qt.getElementType(), qt.getDimSize(3), vt.getDimSize(3), k, window,
        scale, op.getGate());
    if (!cfg)
      return;
    tuning::Key key = keyOf("decode", op.getQ(), op.getKey(), op.getValue(),
                            k, window);
    auto given = [](int64_t v) {
      return v >= 0 ? std::optional<int64_t>(v) : std::nullopt;
    };
    using Cfg = gpu_kernels::DecodeKernelConfig;
    int64_t phase1 = tuned(op, key, "phase1-tiles", given(decodePhase1Tiles),
                           Cfg::kDefaultPhase1Tiles);
    int64_t pre = tuned(op, key, "pre-issue", given(decodePreIssue),
                        Cfg::kDefaultPreIssue);
    int64_t lengths = tuned(op, key, "fused-lengths",
                            given(decodeFusedLengths), 0);
    int64_t minBlocks =
        tuned(op, key, "min-blocks", given(decodeMinBlocks), 0);
    int64_t target = tuned(op, key, "target-blocks",
                           given(decodeTargetBlocks), kDecodeTargetBlocks);
    // The table's and the options' ranges are checked: always in range.
    bool ok = cfg->setSchedule(phase1, pre, lengths != 0, minBlocks);
    assert(ok && "tuning parameters out of range");
    (void)ok;
    IRRewriter rewriter(op);
    ImplicitLocOpBuilder b(op->getLoc(), rewriter);
    auto dim = [&](Value t, int64_t i) -> Value {
      return tensor::DimOp::create(b, t, i);
    };
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, v);
    };
    // Splits of a row's k + window slots, in whole tiles of the attention
    // kernel: about kDecodeTargetBlocks blocks when the batch is small (one
    // split per row from that many rows on), the tiles spread evenly
    // (splits = ceil(tiles / per split)).
    Value rows = arith::MulIOp::create(b, dim(op.getKey(), 0),
                                       dim(op.getKey(), 1));
    int64_t tiles = (k + window + gpu_kernels::DecodeKernelConfig::kTileSlots -
                     1) / gpu_kernels::DecodeKernelConfig::kTileSlots;
    Value want = arith::MaxUIOp::create(
        b,
        arith::MinUIOp::create(
            b,
            arith::DivUIOp::create(b, idx(target),
                                   arith::MaxUIOp::create(b, rows, idx(1))),
            idx(tiles)),
        idx(1));
    Value per = arith::CeilDivUIOp::create(b, idx(tiles), want);
    Value splits = arith::CeilDivUIOp::create(b, idx(tiles), per);
    int64_t dyn = ShapedType::kDynamic;
    Value partial = tensor::EmptyOp::create(
        b, ArrayRef<int64_t>{dyn, dyn, dyn, cfg->d + 2}, b.getF32Type(),
        ValueRange{dim(op.getQ(), 0), dim(op.getQ(), 1), splits});
    SmallVector<Value> inits = llvm::to_vector(op.getDpsInits());
    inits.push_back(partial);
    func::FuncOp stub =
        gpu_kernels::getOrCreateDecodeStepStub(getOperation(), *cfg);
    auto call = KernelCallOp::create(
        b, ValueRange(inits).getTypes(), stub.getSymName(),
        ValueRange{op.getQ(), op.getKey(), op.getValue(), op.getU()}, inits);
    rewriter.replaceOp(op, call.getResults().drop_back());
  }

  void rewrite(BlockAttentionOp op) {
    // The op's unions fix the query block; the head count fills the block
    // up to the pass's rows (block-size).
    int64_t blockQ = op.getBlockSize();
    // k from the unions' width (k + block_size - 1) when static.
    int64_t width = op.getUnionKeys().getType().getDimSize(3);
    tuning::Key key =
        keyOf("attention", op.getQ(), op.getKey(), op.getValue(),
              ShapedType::isDynamic(width) ? -1 : width - blockQ + 1,
              op.getWindow());
    int64_t rows = rowsFor(op, key);
    auto variants = variantsFor(
        op.getQ(), op.getKey(), op.getValue(),
        [&](int64_t heads) { return givenBlockQ(rows, blockQ, heads); },
        keyTilesFor(op, key), op.getWindow(), op.getScaleAttr(),
        op.getGate());
    // The log-sum-exp, when asked for, as the kernel's last output.
    setForward(variants, op, key, static_cast<bool>(op.getLse()));
    SmallVector<Value> operands = {
        op.getQ(),        op.getKey(),       op.getValue(),
        op.getU(),        op.getKthScore(),  op.getKthIndex(),
        op.getTau(),      op.getUnionKeys(), op.getUnionCount()};
    emitLayouts(op, op.getQ(), op.getKey(), op.getValue(), variants,
                [&](ImplicitLocOpBuilder &cb, const Variant &v,
                    ArrayRef<Value> outs) {
                  dispatch(cb, v.cfgs, operands, outs,
                           [&](ImplicitLocOpBuilder &fb) {
                             return SmallVector<Value>(
                                 fb.clone(*op)->getResults());
                           });
                });
  }

  void rewrite(AttentionOp op) {
    tuning::Key key = keyOf("attention", op.getQ(), op.getKey(),
                            op.getValue(), op.getK(), op.getWindow());
    int64_t rows = rowsFor(op, key);
    auto variants = variantsFor(
        op.getQ(), op.getKey(), op.getValue(),
        [&](int64_t heads) { return layerBlockQ(rows, heads); },
        keyTilesFor(op, key), op.getWindow(), op.getScaleAttr(),
        op.getGate());
    int64_t k = op.getK();
    if (!selectableInBlocks(op.getU(), k, variants))
      return; // k + block rows - 1 above 2^30: the linalg lowering's.
    // The log-sum-exp, when the layer returns it, as the kernel's last
    // output.
    bool lse = static_cast<bool>(op.getLse());
    setForward(variants, op, key, lse);
    emitLayouts(
        op, op.getQ(), op.getKey(), op.getValue(), variants,
        [&](ImplicitLocOpBuilder &cb, const Variant &v, ArrayRef<Value> outs) {
          int64_t blockQ = v.blockQ();
          SmallVector<Value> sel = blockSelection(
              cb, op.getQ(), op.getU(), k, op.getWindow(), blockQ);
          SmallVector<Value> operands = {op.getQ(), op.getKey(), op.getValue(),
                                         op.getU(), sel[0],      sel[1],
                                         sel[2],    sel[3],      sel[4]};
          dispatch(cb, v.cfgs, operands, outs,
                   [&](ImplicitLocOpBuilder &fb) -> SmallVector<Value> {
                     // Head dims the kernel does not cover: the layer
                     // itself when it returns its log-sum-exp (the linalg
                     // lowering's), else the same selection attended by
                     // the scalar block attention.
                     if (lse)
                       return SmallVector<Value>(fb.clone(*op)->getResults());
                     return {BlockAttentionOp::create(
                         fb, op.getOut().getType(), operands[0], operands[1],
                         operands[2], operands[3], sel[0], sel[1], sel[2],
                         sel[3], sel[4], op.getWindowAttr(),
                         fb.getI64IntegerAttr(blockQ), op.getScaleAttr(),
                         op.getGateAttr())
                                 .getOut()};
                   });
        });
  }

  /// The standalone selection ops, in parallel along the row with the
  /// selection's GPU kernels (detail::buildSelectionOp; left for the
  /// linalg lowering, which diagnoses it, when N is not known).
  void rewriteSelection(Operation *op) {
    OpBuilder builder(op);
    ImplicitLocOpBuilder b(op->getLoc(), builder);
    std::optional<SmallVector<Value>> results =
        mlir::sparsek::detail::buildSelectionOp(b, op, /*parallel=*/true,
                                                &selectionKernels());
    if (!results)
      return;
    op->replaceAllUsesWith(*results);
    op->erase();
  }

  /// The causal layer's gradients (covered element types and head dims):
  /// the result buffers written by emitBackward for the layout and head
  /// dims of the run, or by the linalg lowering for head dims the kernel
  /// does not cover.
  void rewrite(AttentionBackwardOp op) {
    tuning::Key key = keyOf("attention", op.getQ(), op.getKey(),
                            op.getValue(), op.getK(), op.getWindow());
    int64_t rows = rowsFor(op, key);
    auto variants = variantsFor(
        op.getQ(), op.getKey(), op.getValue(),
        [&](int64_t heads) { return layerBlockQ(rows, heads); },
        keyTilesFor(op, key, "backward-key-tile"), op.getWindow(),
        op.getScaleAttr(), op.getGate(), /*backward=*/true);
    if (variants.empty() || !selectableInBlocks(op.getU(), op.getK(), variants))
      return;
    BackwardOperands ops = BackwardOperands::of(op);
    emitBackwardLayouts(op, ops, variants, op.getDeterministic(),
                        [&](ImplicitLocOpBuilder &cb, const Variant &v) {
                          return blockSelection(cb, ops.q, ops.u, ops.k,
                                                ops.window, v.blockQ());
                        });
  }

  /// The backward given the forward's log-sum-exp and block selection:
  /// the layouts whose query block is the selection's (as for
  /// block_attention), the kernel reading the given selection.
  void rewrite(BlockAttentionBackwardOp op) {
    int64_t blockQ = op.getBlockSize();
    tuning::Key key = keyOf("attention", op.getQ(), op.getKey(),
                            op.getValue(), op.getK(), op.getWindow());
    int64_t rows = rowsFor(op, key);
    auto variants = variantsFor(
        op.getQ(), op.getKey(), op.getValue(),
        [&](int64_t heads) { return givenBlockQ(rows, blockQ, heads); },
        keyTilesFor(op, key, "backward-key-tile"), op.getWindow(),
        op.getScaleAttr(), op.getGate(), /*backward=*/true,
        /*packedDynamicGroup=*/true);
    if (variants.empty())
      return;
    SmallVector<Value> sel = {op.getKthScore(), op.getKthIndex(), op.getTau(),
                              op.getUnionKeys(), op.getUnionCount()};
    emitBackwardLayouts(op, BackwardOperands::of(op), variants,
                        /*deterministic=*/false,
                        [&](ImplicitLocOpBuilder &, const Variant &) {
                          return sel;
                        });
  }

  /// What the backward's launches read (attention_backward's operands, or
  /// block_attention_backward's before its selection).
  struct BackwardOperands {
    Value q, key, value, u, out, dout, lse; // lse may be null
    int64_t k, window;
    template <typename BackwardOp> static BackwardOperands of(BackwardOp op) {
      return {op.getQ(),   op.getKey(),  op.getValue(),
              op.getU(),   op.getOut(),  op.getDout(),
              op.getLse(), op.getKAttr().getInt(),
              op.getWindowAttr().getInt()};
    }
  };

  /// The query block of a layer's layout with `heads` query heads per
  /// thread block: the op's rows (block-size) over the heads, 0 when they
  /// do not divide them.
  static int64_t layerBlockQ(int64_t rows, int64_t heads) {
    return rows % heads == 0 ? rows / heads : 0;
  }

  /// The query block of a layout for a given selection of blocks of
  /// `blockQ` queries: that block, when `heads` heads of it fit the op's
  /// rows (always with one head), else 0.
  static int64_t givenBlockQ(int64_t rows, int64_t blockQ, int64_t heads) {
    return heads == 1 || blockQ <= rows / heads ? blockQ : 0;
  }

  /// Replaces the backward `op` by its four result buffers: per layout
  /// (an scf.if chain on the group size), the block selection
  /// `selectionOf` gives, then the kernel for the run's head dims; head
  /// dims no kernel covers (known only at run time) take the linalg
  /// lowering of `op`, once.
  void emitBackwardLayouts(
      Operation *op, const BackwardOperands &ops, MutableArrayRef<Variant> vs,
      bool deterministic,
      function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, const Variant &)>
          selectionOf) {
    // With the forward's log-sum-exp the kernel skips its first sweep.
    forEachConfig(vs, [&](AttentionKernelConfig &cfg) {
      cfg.vectorReductions = vectorReductions;
      cfg.lse = static_cast<bool>(ops.lse);
      cfg.deterministic = deterministic;
      // The deterministic backward's slots take more shared memory: a
      // smaller key tile where the chosen one no longer fits.
      cfg.shrinkToFit();
    });
    IRRewriter rewriter(op);
    ImplicitLocOpBuilder b(op->getLoc(), rewriter);
    Value q = ops.q, value = ops.value;
    // The result buffers: dq, dkey, dvalue in their element types, du f32.
    auto bufferOf = [&](Value result, Value like) {
      auto t = cast<RankedTensorType>(result.getType());
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < t.getRank(); ++i)
        if (t.isDynamicDim(i))
          sizes.push_back(tensor::DimOp::create(b, like, i));
      return memref::AllocOp::create(
                 b, MemRefType::get(t.getShape(), t.getElementType()), sizes)
          .getResult();
    };
    SmallVector<Value> outs = {bufferOf(op->getResult(0), q),
                               bufferOf(op->getResult(1), ops.key),
                               bufferOf(op->getResult(2), value),
                               bufferOf(op->getResult(3), ops.u)};
    auto kernels = [&](ImplicitLocOpBuilder &kb) {
      chainIf(
          kb, vs.size(),
          [&](ImplicitLocOpBuilder &cb, size_t i) {
            return groupDivisible(cb, q, ops.key, vs[i].heads());
          },
          [&](ImplicitLocOpBuilder &cb, size_t vi) {
            ArrayRef<AttentionKernelConfig> cfgs = vs[vi].cfgs;
            SmallVector<Value> sel = selectionOf(cb, vs[vi]);
            chainIf(
                cb, cfgs.size(),
                [&](ImplicitLocOpBuilder &db, size_t i) {
                  return headDimsAre(db, q, value, cfgs[i]);
                },
                [&](ImplicitLocOpBuilder &db, size_t i) {
                  emitBackward(db, ops, cfgs[i], sel, outs);
                });
          });
    };
    if (staticHeadDims(q, value)) {
      kernels(b);
    } else {
      ArrayRef<AttentionKernelConfig> cfgs = vs.front().cfgs;
      Value covered = headDimsAre(b, q, value, cfgs.front());
      for (const AttentionKernelConfig &c : cfgs.drop_front())
        covered = arith::OrIOp::create(b, covered, headDimsAre(b, q, value, c));
      auto ifOp = scf::IfOp::create(b, covered, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      kernels(b);
      b.setInsertionPointToStart(ifOp.elseBlock());
      Operation *fallback = b.clone(*op);
      for (auto [r, o] : llvm::zip(fallback->getResults(), outs))
        bufferization::MaterializeInDestinationOp::create(b, r, o)
            .setWritable(true);
      b.setInsertionPointAfter(ifOp);
    }
    SmallVector<Value> results;
    for (auto [o, want] : llvm::zip(outs, op->getResultTypes()))
      results.push_back(asTensor(b, o, cast<RankedTensorType>(want)));
    rewriter.replaceOp(op, results);
  }

  /// One configuration of the backward into `outs` (dq, dkey, dvalue, du
  /// buffers), given the forward's block selection `sel` for its query
  /// block: the backward kernel (dq, and by atomics dkey and dvalue into
  /// zeroed f32 buffers, du's direct part into du zeroed, dtau), du's
  /// threshold term, then dkey and dvalue converted into their buffers.
  void emitBackward(ImplicitLocOpBuilder &b, const BackwardOperands &op,
                    const AttentionKernelConfig &cfg, ArrayRef<Value> sel,
                    ArrayRef<Value> outs) {
    Value q = op.q, key = op.key, value = op.value, u = op.u;
    Value n = tensor::DimOp::create(b, q, 2);

    Type f32 = b.getF32Type();
    Value batch = tensorDim(b, u, 0), hkv = tensorDim(b, u, 1),
          m = tensorDim(b, u, 2);
    if (cfg.deterministic)
      return emitDeterministicBackward(b, op, cfg, sel, outs);
    Value dkAcc = zeroedBuffer(b, {batch, hkv, m, tensorDim(b, key, 3)}, f32);
    Value dvAcc = zeroedBuffer(b, {batch, hkv, m, tensorDim(b, value, 3)}, f32);
    Value dtau = zeroedBuffer(b, {batch, hkv, n}, f32);
    zeroBuffer(b, outs[3]);
    SmallVector<Value> operands = {q,      key,    value,  u,
                                   sel[0], sel[1], sel[2], sel[3],
                                   sel[4], op.out, op.dout};
    launch(b, cfg, operands, {outs[0], dkAcc, dvAcc, outs[3], dtau}, op.lse);
    emitThresholdTerm(b, op, sel, dtau, outs[3]);

    // dkey and dvalue in their element types (the kernel's: f16 or bf16),
    // 8 elements per thread (ThresholdTermKernel.cpp).
    func::FuncOp narrow =
        gpu_kernels::getOrCreateNarrowStub(getOperation(), cfg.elem);
    SmallVector<Type> narrowTypes =
        gpu_kernels::narrowStubOperandTypes(b.getContext(), cfg.elem);
    for (auto [acc, out] : {std::make_pair(dkAcc, outs[1]),
                            std::make_pair(dvAcc, outs[2])})
      func::CallOp::create(
          b, narrow,
          ValueRange{memref::CastOp::create(b, narrowTypes[0], acc),
                     memref::CastOp::create(b, narrowTypes[1], out)});
  }

  /// The deterministic backward (AttentionKernelConfig::deterministic):
  /// the slots of every key's run of chunks, the kernel's partial sums into
  /// them, their fixed-order sums into dkey, dvalue, du and dtau, then du's
  /// threshold term.
  void emitDeterministicBackward(ImplicitLocOpBuilder &b,
                                 const BackwardOperands &op,
                                 const AttentionKernelConfig &cfg,
                                 ArrayRef<Value> sel, ArrayRef<Value> outs) {
    Value q = op.q, u = op.u;
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v); };
    Value batch = tensorDim(b, u, 0), hkv = tensorDim(b, u, 1),
          m = tensorDim(b, u, 2);
    Value hq = tensorDim(b, q, 1), n = tensorDim(b, q, 2);
    // Chunks (AttentionKernel.h) and a bound on the entries of a row: a
    // chunk of C queries touches at most min(M, k + C - 1) selected keys
    // and window + C - 1 window keys.
    Value nb = arith::CeilDivUIOp::create(b, n, c(cfg.blockQ));
    Value headBlocks = arith::MaxUIOp::create(
        b, arith::DivUIOp::create(b, hq, arith::MulIOp::create(
                                             b, hkv, c(cfg.heads))),
        c(1));
    Value units = arith::MulIOp::create(
        b, arith::MulIOp::create(
               b, nb, arith::DivUIOp::create(b, hq, c(cfg.heads))),
        batch);
    Value chunkBlocks = gpu_kernels::deterministicChunkBlocks(b, units);
    Value chunks = arith::CeilDivUIOp::create(b, nb, chunkBlocks);
    Value chunkQueries = arith::MulIOp::create(b, chunkBlocks, c(cfg.blockQ));
    Value twoC = arith::MulIOp::create(b, chunkQueries, c(2));
    Value perChunk = arith::MinUIOp::create(
        b, m,
        arith::AddIOp::create(b, twoC, c(op.k + op.window)));
    Value rowEntries = arith::MulIOp::create(b, chunks, perChunk);
    Value slots = arith::MulIOp::create(
        b, arith::MulIOp::create(b, arith::MulIOp::create(b, batch, hkv),
                                 rowEntries),
        headBlocks);
    Value width = c(gpu_kernels::deterministicSlotWidth(cfg.d, cfg.dv));

    Value first = allocBuffer(b, {batch, hkv, m}, i32),
          last = allocBuffer(b, {batch, hkv, m}, i32);
    fillBuffer(b, first,
               b.getI32IntegerAttr(std::numeric_limits<int32_t>::max()));
    fillBuffer(b, last, b.getI32IntegerAttr(-1));
    Value meta = allocBuffer(b, {batch, hkv, m, c(4)}, i32);
    {
      SmallVector<Type> types =
          gpu_kernels::deterministicSlotsStubOperandTypes(b.getContext());
      SmallVector<Value> args = {stubArgument(b, sel[3], types[0]),
                                 stubArgument(b, sel[4], types[1]),
                                 stubArgument(b, sel[2], types[2])};
      SmallVector<Value> bufs = {first, last, meta};
      for (auto [buf, type] : llvm::zip(bufs, ArrayRef<Type>(types).slice(3, 3)))
        args.push_back(memref::CastOp::create(b, type, buf));
      args.append({chunkBlocks, rowEntries});
      func::CallOp::create(b,
                           gpu_kernels::getOrCreateDeterministicSlotsStub(
                               getOperation(), cfg.blockQ, cfg.window),
                           args);
    }
    Value scratch = allocBuffer(b, {slots, width}, f32);
    Value dtauHeads = allocBuffer(b, {batch, hq, n}, f32);
    {
      SmallVector<Type> types = gpu_kernels::blockAttentionStubOperandTypes(
          b.getContext(), cfg.elem, /*backward=*/true, cfg.lse,
          /*deterministic=*/true);
      SmallVector<Value> operands = {q,      op.key, op.value, u,      sel[0],
                                     sel[1], sel[2], sel[3],   sel[4], op.out,
                                     op.dout};
      SmallVector<Value> args;
      for (auto [v, type] : llvm::zip(operands, types))
        args.push_back(stubArgument(b, v, type));
      SmallVector<Value> bufs = {outs[0], scratch, meta, dtauHeads};
      for (auto [buf, type] :
           llvm::zip(bufs, ArrayRef<Type>(types).slice(operands.size(), 4)))
        args.push_back(memref::CastOp::create(b, type, buf));
      args.push_back(chunkBlocks);
      if (op.lse)
        args.push_back(stubArgument(b, op.lse, types.back()));
      func::CallOp::create(
          b, gpu_kernels::getOrCreateBlockAttentionStub(getOperation(), cfg),
          args);
    }
    Value dtau = allocBuffer(b, {batch, hkv, n}, f32);
    {
      SmallVector<Type> types = gpu_kernels::deterministicReduceStubOperandTypes(
          b.getContext(), cfg.elem);
      SmallVector<Value> bufs = {scratch, meta,    dtauHeads, outs[1],
                                 outs[2], outs[3], dtau};
      SmallVector<Value> args;
      for (auto [buf, type] : llvm::zip(bufs, types))
        args.push_back(memref::CastOp::create(b, type, buf));
      args.push_back(headBlocks);
      func::CallOp::create(b,
                           gpu_kernels::getOrCreateDeterministicReduceStub(
                               getOperation(), cfg.elem),
                           args);
    }
    emitThresholdTerm(b, op, sel, dtau, outs[3]);
  }

  /// du's threshold term (ThresholdTermKernel.cpp) into `du` (f32), given
  /// dtau.
  void emitThresholdTerm(ImplicitLocOpBuilder &b, const BackwardOperands &op,
                         ArrayRef<Value> sel, Value dtau, Value du) {
    Value u = op.u;
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    int64_t dyn = ShapedType::kDynamic;
    Value batch = tensorDim(b, u, 0), hkv = tensorDim(b, u, 1),
          m = tensorDim(b, u, 2);
    Value n = tensorDim(b, op.q, 2);
    Value n1 = arith::AddIOp::create(b, n, arith::ConstantIndexOp::create(b, 1));
    Value hist = zeroedBuffer(b, {batch, hkv, n1}, i32);
    Value bounds = memref::AllocOp::create(
        b, MemRefType::get({dyn, dyn, dyn, 2}, i32), ValueRange{batch, hkv, m});
    Value prefix = memref::AllocOp::create(
        b, MemRefType::get({dyn, dyn, dyn}, f32), ValueRange{batch, hkv, n1});
    SmallVector<Type> argTypes =
        gpu_kernels::thresholdTermStubOperandTypes(b.getContext());
    SmallVector<Value> args = {stubArgument(b, u, argTypes[0]),
                               stubArgument(b, sel[2], argTypes[1])};
    SmallVector<Value> buffers = {dtau, du, hist, bounds, prefix};
    for (auto [buf, type] :
         llvm::zip(buffers, ArrayRef<Type>(argTypes).drop_front(2)))
      args.push_back(memref::CastOp::create(b, type, buf));
    func::CallOp::create(
        b,
        gpu_kernels::getOrCreateThresholdTermStub(getOperation(), op.window),
        args);
    // (Buffer deallocation frees the scratch buffers after their last use.)
  }

  /// Replaces `op` by its result buffers (out, and the log-sum-exp when
  /// the op has a second result) written by `body` for one layout, or with
  /// several, an scf.if chain choosing the first layout whose head count
  /// divides Hq / Hkv at run time. Nothing when there is no layout.
  void emitLayouts(Operation *op, Value q, Value key, Value value,
                   ArrayRef<Variant> variants,
                   function_ref<void(ImplicitLocOpBuilder &, const Variant &,
                                     ArrayRef<Value>)>
                       body) {
    if (variants.empty())
      return;
    IRRewriter rewriter(op);
    ImplicitLocOpBuilder b(op->getLoc(), rewriter);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<Value> outs = {allocResult(b, q, value, resultType)};
    if (op->getNumResults() > 1) {
      auto lseType = cast<RankedTensorType>(op->getResult(1).getType());
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < 3; ++i)
        if (lseType.isDynamicDim(i))
          sizes.push_back(tensor::DimOp::create(b, q, i));
      outs.push_back(memref::AllocOp::create(
          b, MemRefType::get(lseType.getShape(), lseType.getElementType()),
          sizes));
    }
    chainIf(
        b, variants.size(),
        [&](ImplicitLocOpBuilder &cb, size_t i) {
          return groupDivisible(cb, q, key, variants[i].heads());
        },
        [&](ImplicitLocOpBuilder &cb, size_t i) {
          body(cb, variants[i], outs);
        });
    SmallVector<Value> results;
    for (auto [o, r] : llvm::zip(outs, op->getResults()))
      results.push_back(
          asTensor(b, o, cast<RankedTensorType>(r.getType())));
    rewriter.replaceOp(op, results);
  }

  /// Whether every variant's block selection can hold k (selectionK).
  static bool selectableInBlocks(Value u, int64_t k,
                                 ArrayRef<Variant> variants) {
    return llvm::all_of(variants, [&](const Variant &v) {
      return BlockSelectOp::selectionK(cast<RankedTensorType>(u.getType()), k,
                                       v.blockQ())
          .has_value();
    });
  }

  /// The causal selection of q's N queries in blocks of `blockQ`
  /// (sparsek.block_select's results: kth_score, kth_index, tau,
  /// union_keys, union_count), in parallel along the row or by the
  /// sequential sweeps (the pass's parallel-selection option).
  ///
  /// A selection already built for the same scores, queries, k, window and
  /// block, earlier in the block the new one would go to, is reused: a
  /// layer's forward and its backward in one function (a training step)
  /// select once.
  SmallVector<Value> blockSelection(ImplicitLocOpBuilder &b, Value q, Value u,
                                    int64_t k, int64_t window,
                                    int64_t blockQ) {
    Block *block = b.getInsertionBlock();
    auto before = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return def && def->getBlock() == block &&
             (b.getInsertionPoint() == block->end() ||
              def->isBeforeInBlock(&*b.getInsertionPoint()));
    };
    for (const Selection &s : selections)
      if (s.u == u && s.q == q && s.k == k && s.window == window &&
          s.blockQ == blockQ && llvm::all_of(s.results, before))
        return s.results;
    // Checked by selectableInBlocks before anything was built.
    int64_t kSel = *BlockSelectOp::selectionK(
        cast<RankedTensorType>(u.getType()), k, blockQ);
    SmallVector<Type, 5> types = BlockSelectOp::getResultTypesFor(
        cast<RankedTensorType>(u.getType()),
        cast<RankedTensorType>(q.getType()).getDimSize(2), kSel, blockQ);
    SmallVector<Value> results =
        parallelSelection
            ? mlir::sparsek::detail::buildParallelBlockSelectWith(
                  b, u, kSel, window, blockQ, tensor::DimOp::create(b, q, 2),
                  types, &selectionKernels())
            : mlir::sparsek::detail::buildBlockSelect(
                  b, u, kSel, window, blockQ, tensor::DimOp::create(b, q, 2),
                  types);
    selections.push_back({u, q, k, window, blockQ, results});
    return results;
  }

  /// The parallel selection's GPU kernels, launched through kernel stubs:
  /// merge tiles in shared memory (MergeTileKernel.cpp) and the unions by
  /// per-block compaction (UnionBlocksKernel.cpp).
  const mlir::sparsek::detail::SelectionKernels &selectionKernels() {
    // The stub's launch on tensors: inits updated in place.
    auto call = [](ImplicitLocOpBuilder &b, func::FuncOp stub,
                   ValueRange inputs, ValueRange inits) {
      return SmallVector<Value>(
          KernelCallOp::create(b, inits.getTypes(), stub.getSymName(), inputs,
                               inits)
              .getResults());
    };
    if (!kernels.mergeTiles)
      kernels.mergeTiles = [this, call](ImplicitLocOpBuilder &b, bool sums,
                                        Value tags, Value values,
                                        ValueRange inits) {
        return call(b,
                    gpu_kernels::getOrCreateMergeTilesStub(getOperation(), sums),
                    {tags, values}, inits);
      };
    if (!kernels.unionBlocks)
      kernels.unionBlocks = [this, call](ImplicitLocOpBuilder &b, int64_t k,
                                         int64_t window, int64_t blockSize,
                                         Value kthRank, Value rank,
                                         ValueRange inits) {
        return call(b,
                    gpu_kernels::getOrCreateUnionBlocksStub(
                        getOperation(), {k, window, blockSize}),
                    {kthRank, rank}, inits);
      };
    return kernels;
  }
  mlir::sparsek::detail::SelectionKernels kernels;

  /// The block selections built so far (blockSelection).
  struct Selection {
    Value u, q;
    int64_t k, window, blockQ;
    SmallVector<Value> results;
  };
  SmallVector<Selection> selections;

  /// Whether the run's head dims are those of `cfg`.
  static Value headDimsAre(ImplicitLocOpBuilder &b, Value q, Value value,
                           const AttentionKernelConfig &cfg) {
    auto is = [&](Value t, int64_t v) {
      return arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                   tensor::DimOp::create(b, t, 3),
                                   arith::ConstantIndexOp::create(b, v));
    };
    return arith::AndIOp::create(b, is(q, cfg.d), is(value, cfg.dv));
  }

  /// Whether `heads` divides the group size Hq / Hkv (Hq % (heads * Hkv)
  /// == 0; the verifier guarantees Hq % Hkv == 0).
  static Value groupDivisible(ImplicitLocOpBuilder &b, Value q, Value key,
                              int64_t heads) {
    Value hq = tensor::DimOp::create(b, q, 1);
    Value hkv = tensor::DimOp::create(b, key, 1);
    Value rem = arith::RemUIOp::create(
        b, hq,
        arith::MulIOp::create(b, hkv, arith::ConstantIndexOp::create(b, heads)));
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rem,
                                 arith::ConstantIndexOp::create(b, 0));
  }

  /// The result buffer [B, Hq, N, Dv].
  static Value allocResult(ImplicitLocOpBuilder &b, Value q, Value value,
                           RankedTensorType resultType) {
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < 4; ++i)
      if (resultType.isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(b, i == 3 ? value : q, i));
    auto outType =
        MemRefType::get(resultType.getShape(), resultType.getElementType());
    return memref::AllocOp::create(b, outType, sizes);
  }

  static Value asTensor(ImplicitLocOpBuilder &b, Value out,
                        RankedTensorType resultType) {
    return bufferization::ToTensorOp::create(b, resultType, out,
                                             b.getUnitAttr(), b.getUnitAttr());
  }

  /// The launch into `outs` for static head dims or, with dynamic ones,
  /// an scf.if chain over the covered (D, Dv) pairs whose last else
  /// materializes `fallback`'s results in `outs`.
  void dispatch(ImplicitLocOpBuilder &b, ArrayRef<AttentionKernelConfig> cfgs,
                ArrayRef<Value> operands, ArrayRef<Value> outs,
                function_ref<SmallVector<Value>(ImplicitLocOpBuilder &)>
                    fallback) {
    Value q = operands[0], value = operands[2];
    if (staticHeadDims(q, value)) {
      launch(b, cfgs.front(), operands, outs);
      return;
    }
    chainIf(
        b, cfgs.size() + 1,
        [&](ImplicitLocOpBuilder &cb, size_t i) {
          return headDimsAre(cb, q, value, cfgs[i]);
        },
        [&](ImplicitLocOpBuilder &cb, size_t i) {
          if (i < cfgs.size()) {
            launch(cb, cfgs[i], operands, outs);
            return;
          }
          for (auto [r, o] : llvm::zip(fallback(cb), outs))
            bufferization::MaterializeInDestinationOp::create(cb, r, o)
                .setWritable(true);
        });
  }

  /// A tensor operand of a kernel stub: its read-only buffer (any strided
  /// layout) cast to the stub's fully dynamic type.
  static Value stubArgument(ImplicitLocOpBuilder &b, Value tensor,
                            Type argType) {
    int64_t dyn = ShapedType::kDynamic;
    auto t = cast<RankedTensorType>(tensor.getType());
    auto bufType = MemRefType::get(
        t.getShape(), t.getElementType(),
        StridedLayoutAttr::get(b.getContext(), dyn,
                               SmallVector<int64_t>(t.getRank(), dyn)));
    Value buf = bufferization::ToBufferOp::create(b, bufType, tensor,
                                                  /*read_only=*/true);
    return memref::CastOp::create(b, argType, buf);
  }

  /// Calls the kernel's stub on buffers of the operands, then the result
  /// buffers `outs`, then (the backward's log-sum-exp) `lseIn`.
  void launch(ImplicitLocOpBuilder &b, const AttentionKernelConfig &cfg,
              ArrayRef<Value> operands, ArrayRef<Value> outs,
              Value lseIn = {}) {
    SmallVector<Type> argTypes = gpu_kernels::blockAttentionStubOperandTypes(
        b.getContext(), cfg.elem, cfg.backward, cfg.lse);
    SmallVector<Value> args;
    for (auto [v, argType] : llvm::zip(operands, argTypes))
      args.push_back(stubArgument(b, v, argType));
    for (auto [o, argType] :
         llvm::zip(outs, ArrayRef<Type>(argTypes).drop_front(operands.size())))
      args.push_back(memref::CastOp::create(b, argType, o));
    if (lseIn)
      args.push_back(stubArgument(b, lseIn, argTypes.back()));
    func::FuncOp stub =
        gpu_kernels::getOrCreateBlockAttentionStub(getOperation(), cfg);
    func::CallOp::create(b, stub, args);
  }
};

} // namespace

namespace {

/// sparsek-expand-kernel-stubs: each call of a kernel stub becomes the
/// kernel's gpu.launch; the stubs go.
struct SparseKExpandKernelStubsPass
    : mlir::sparsek::impl::SparseKExpandKernelStubsPassBase<
          SparseKExpandKernelStubsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee()))
        if (gpu_kernels::isKernelStub(callee))
          calls.push_back(call);
    });
    for (func::CallOp call : calls) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      // Per kind: the signature a stub must have, and its launches.
      SmallVector<Type> expected;
      StringRef signature;
      std::function<void(ImplicitLocOpBuilder &, ArrayRef<Value>)> build;
      std::optional<AttentionKernelConfig> cfg;
      if (std::optional<int64_t> window =
              gpu_kernels::thresholdTermStubWindow(callee)) {
        expected = gpu_kernels::thresholdTermStubOperandTypes(&getContext());
        signature = "threshold_term stub signature must be (u, tau, dtau, du, "
                    "histogram, bounds, prefix) as memrefs with fully dynamic "
                    "shapes and strided layouts (f32 x4, i32 rank 3 and 4, "
                    "f32), no results";
        build = [&, w = *window](ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> operands) {
          gpu_kernels::buildThresholdTermLaunches(b, module, w, operands);
        };
      } else if (std::optional<bool> sums =
                     gpu_kernels::mergeTilesStubSums(callee)) {
        expected =
            gpu_kernels::mergeTilesStubOperandTypes(&getContext(), *sums);
        signature = "merge_tiles stub signature must be (tags, values, tags "
                    "out, values out, zb, and with sums fz) as memrefs with "
                    "fully dynamic shapes and strided layouts (i32 rank 3, "
                    "values f32 rank 3 or with sums f64, i32 rank 5, f64 "
                    "rank 5), no results";
        build = [&, s = *sums](ImplicitLocOpBuilder &b,
                               ArrayRef<Value> operands) {
          gpu_kernels::buildMergeTilesLaunch(b, module, s, operands);
        };
      } else if (std::optional<gpu_kernels::UnionBlocksParams> params =
                     gpu_kernels::unionBlocksStubParams(callee)) {
        expected = gpu_kernels::unionBlocksStubOperandTypes(&getContext());
        signature = "union_blocks stub signature must be (kth_rank, rank, "
                    "union_keys, union_count) as i32 memrefs of ranks 3, 3, "
                    "4 and 3 with fully dynamic shapes and strided layouts, "
                    "no results";
        build = [&, p = *params](ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> operands) {
          gpu_kernels::buildUnionBlocksLaunch(b, module, p, operands);
        };
      } else if (std::optional<Type> elem =
                     gpu_kernels::narrowStubElem(callee)) {
        expected = gpu_kernels::narrowStubOperandTypes(&getContext(), *elem);
        signature = "narrow stub signature must be (f32 source, destination "
                    "of the stub's elem) as rank-4 memrefs with fully dynamic "
                    "shapes and strided layouts, no results";
        build = [&, e = *elem](ImplicitLocOpBuilder &b,
                               ArrayRef<Value> operands) {
          gpu_kernels::buildNarrowLaunch(b, e, operands);
        };
      } else if (auto params =
                     gpu_kernels::deterministicSlotsStubParams(callee)) {
        expected =
            gpu_kernels::deterministicSlotsStubOperandTypes(&getContext());
        signature = "deterministic_slots stub signature must be (union_keys, "
                    "union_count, tau, first, last, meta, chunk_blocks, "
                    "row_entries): memrefs with fully dynamic shapes and "
                    "strided layouts (i32 rank 4 and 3, f32 rank 3, i32 "
                    "rank 3, 3 and 4), then two index values, no results";
        build = [&, p = *params](ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> operands) {
          gpu_kernels::buildDeterministicSlotsLaunches(b, module, p.first,
                                                       p.second, operands);
        };
      } else if (std::optional<Type> elem =
                     gpu_kernels::deterministicReduceStubElem(callee)) {
        expected = gpu_kernels::deterministicReduceStubOperandTypes(
            &getContext(), *elem);
        signature = "deterministic_reduce stub signature must be (scratch, "
                    "meta, dtau per head, dkey, dvalue, du, dtau, "
                    "head_blocks): memrefs with fully dynamic shapes and "
                    "strided layouts (f32 rank 2, i32 rank 4, f32 rank 3, "
                    "the stub's elem rank 4 twice, f32 rank 3 twice), then "
                    "an index value, no results";
        build = [&, e = *elem](ImplicitLocOpBuilder &b,
                               ArrayRef<Value> operands) {
          gpu_kernels::buildDeterministicReduceLaunches(b, e, operands);
        };
      } else if (std::optional<gpu_kernels::DecodeKernelConfig> dcfg =
                     gpu_kernels::decodeStepStubConfig(callee)) {
        expected = gpu_kernels::decodeStepStubOperandTypes(&getContext(),
                                                           dcfg->elem);
        signature = "decode_step stub signature must be (q, key, value, u, "
                    "out, keys, values, scores, positions, band_scores, "
                    "band_positions, threshold, counts, lengths, partials) "
                    "as memrefs with fully dynamic shapes and strided "
                    "layouts, no results";
        build = [&, c = *dcfg](ImplicitLocOpBuilder &b,
                               ArrayRef<Value> operands) {
          gpu_kernels::buildDecodeStepLaunches(b, module, c, operands);
        };
      } else if ((cfg = gpu_kernels::stubConfig(callee))) {
        expected = gpu_kernels::blockAttentionStubOperandTypes(
            &getContext(), cfg->elem, cfg->backward, cfg->lse,
            cfg->deterministic);
        signature = "kernel stub signature must be (q, key, value, u, "
                    "kth_score, kth_index, tau, union_keys, union_count, out) "
                    "and for block_attention_backward then (dout, dq, dkey, "
                    "dvalue, du, dtau) (deterministic: dout, dq, scratch, "
                    "meta, dtau per head, then the index chunk_blocks), then "
                    "with lse the log-sum-exp, as memrefs with fully dynamic "
                    "shapes and strided layouts, no results";
        build = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> operands) {
          gpu_kernels::buildBlockAttentionLaunch(b, module, *cfg, operands);
        };
      } else {
        callee.emitError()
            << "invalid 'sparsek.kernel' configuration: expected kind = "
               "\"block_attention\" or \"block_attention_backward\" (or "
               "\"threshold_term\" with a window >= 0, \"narrow\", "
               "\"merge_tiles\" with a bool sums, \"union_blocks\" with "
               "k >= 0, window >= 0 and block_q >= 1, "
               "\"deterministic_slots\" with block_q >= 1 and window >= 0, "
               "or \"deterministic_reduce\"), elem f16 or bf16, "
               "d and dv 64 or 128, block_q and heads making whole warps of "
               "16 rows (8 queries of two heads or 16 of one), at most 8 "
               "warps (128 rows), key_tile a multiple of 16 up to 64 within "
               "200 KiB of shared memory (backward: the key tile's m16 tiles "
               "dividing the warps, each warp's columns whole pairs of n8 "
               "tiles), ping_pong only for a forward kernel of 8 warps, "
               "wgmma only for a forward kernel of 4 or 8 warps with key "
               "tiles of 64, "
               "window >= 0, scale > 0 and a gate";
        return signalPassFailure();
      }
      if (callee.getFunctionType().getInputs() != ArrayRef<Type>(expected) ||
          callee.getNumResults() != 0) {
        callee.emitError() << signature;
        return signalPassFailure();
      }
      OpBuilder builder(call);
      ImplicitLocOpBuilder b(call.getLoc(), builder);
      build(b, llvm::to_vector(call.getOperands()));
      call.erase();
    }
    for (func::FuncOp f :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (gpu_kernels::isKernelStub(f) && f.symbolKnownUseEmpty(module))
        f.erase();
  }
};

} // namespace
