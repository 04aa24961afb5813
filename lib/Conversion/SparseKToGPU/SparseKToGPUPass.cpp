//===- SparseKToGPUPass.cpp - layers to the tensor-core kernel ------------===//
//
// convert-sparsek-to-gpu (Passes.td): block attention, and the causal
// layer's attention after its block selection, as launches of the kernel
// that AttentionKernel.cpp builds.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/IR/SparseKOps.h"
#include "sparsek/Support/SoftmaxScale.h"

// The block selection builders of the linalg lowering.
#include "../SparseKToLinalg/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"


namespace mlir::sparsek {
#define GEN_PASS_DEF_CONVERTSPARSEKTOGPUPASS
#define GEN_PASS_DEF_SPARSEKEXPANDKERNELSTUBSPASS
#include "sparsek/Conversion/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;
using gpu_kernels::AttentionKernelConfig;

namespace {

/// The head dims (D, Dv) the kernel is built for.
constexpr std::pair<int64_t, int64_t> kHeadDims[] = {
    {128, 128}, {64, 64}, {128, 64}, {64, 128}};

/// The kernel configurations an attention may need (q, key, value types,
/// block, window, scale attribute, gate): one for static head dims the
/// kernel covers, one per covered (D, Dv) pair the types allow when a head
/// dim is dynamic (dispatched at run time), none otherwise.
SmallVector<AttentionKernelConfig>
configsFor(Value q, Value key, Value value, int64_t blockQ, int64_t keyTile,
           int64_t window, FloatAttr scaleAttr, Gate gate) {
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
  for (auto [d, dv] : kHeadDims) {
    if (!fits(qt.getDimSize(3), d) || !fits(kt.getDimSize(3), d) ||
        !fits(vt.getDimSize(3), dv))
      continue;
    double scale = scaleAttr ? scaleAttr.getValueAsDouble()
                             : ::sparsek::defaultSoftmaxScale(d);
    if (auto cfg = AttentionKernelConfig::create(elem, d, dv, blockQ, keyTile,
                                                 window, scale, gate))
      cfgs.push_back(*cfg);
  }
  return cfgs;
}

/// Whether the head dims are static (no run-time dispatch needed).
bool staticHeadDims(Value q, Value value) {
  return !cast<RankedTensorType>(q.getType()).isDynamicDim(3) &&
         !cast<RankedTensorType>(value.getType()).isDynamicDim(3);
}

struct ConvertSparseKToGPUPass
    : mlir::sparsek::impl::ConvertSparseKToGPUPassBase<ConvertSparseKToGPUPass> {
  using ConvertSparseKToGPUPassBase::ConvertSparseKToGPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < 1 || keyTile < 1) {
      module.emitError() << "invalid block-size " << blockSize.getValue()
                         << " or key-tile " << keyTile.getValue()
                         << ": expected positive sizes";
      return signalPassFailure();
    }
    SmallVector<Operation *> work;
    module.walk([&](Operation *op) {
      if (isa<BlockAttentionOp>(op) ||
          (isa<AttentionOp>(op) && cast<AttentionOp>(op).getCausal()))
        work.push_back(op);
    });
    for (Operation *op : work) {
      if (auto ba = dyn_cast<BlockAttentionOp>(op))
        rewrite(ba);
      else
        rewrite(cast<AttentionOp>(op));
    }
  }

private:
  void rewrite(BlockAttentionOp op) {
    auto cfgs = configsFor(op.getQ(), op.getKey(), op.getValue(),
                           op.getBlockSize(), keyTile, op.getWindow(),
                           op.getScaleAttr(), op.getGate());
    if (cfgs.empty())
      return;
    IRRewriter rewriter(op);
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    SmallVector<Value> operands = {
        op.getQ(),        op.getKey(),       op.getValue(),
        op.getU(),        op.getKthScore(),  op.getKthIndex(),
        op.getTau(),      op.getUnionKeys(), op.getUnionCount()};
    rewriter.replaceOp(op, dispatch(b, cfgs, operands, op.getOut().getType(),
                                    [&](ImplicitLocOpBuilder &fb) {
                                      return fb.clone(*op)->getResult(0);
                                    }));
  }

  void rewrite(AttentionOp op) {
    auto cfgs = configsFor(op.getQ(), op.getKey(), op.getValue(), blockSize,
                           keyTile, op.getWindow(), op.getScaleAttr(),
                           op.getGate());
    if (cfgs.empty())
      return;
    IRRewriter rewriter(op);
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    int64_t k = op.getK();
    SmallVector<Type, 5> types = BlockSelectOp::getResultTypesFor(
        op.getU().getType(), op.getQ().getType().getDimSize(2), k,
        blockSize);
    Value n = tensor::DimOp::create(b, op.getQ(), 2);
    auto build = parallelSelection ? mlir::sparsek::detail::buildParallelBlockSelect
                                   : mlir::sparsek::detail::buildBlockSelect;
    SmallVector<Value> sel =
        build(b, op.getU(), k, op.getWindow(), blockSize, n, types);
    SmallVector<Value> operands = {op.getQ(), op.getKey(), op.getValue(),
                                   op.getU(), sel[0],      sel[1],
                                   sel[2],    sel[3],      sel[4]};
    rewriter.replaceOp(
        op, dispatch(b, cfgs, operands, op.getOut().getType(),
                     [&](ImplicitLocOpBuilder &fb) -> Value {
                       // Head dims the kernel does not cover: the same
                       // selection, attended by the scalar block attention.
                       return BlockAttentionOp::create(
                           fb, op.getOut().getType(), operands[0],
                           operands[1], operands[2], operands[3], sel[0],
                           sel[1], sel[2], sel[3], sel[4],
                           op.getWindowAttr(),
                           fb.getI64IntegerAttr(blockSize),
                           op.getScaleAttr(), op.getGateAttr());
                     }));
  }

  /// The result buffer, then the launch for static head dims or, with
  /// dynamic ones, an scf.if chain over the covered (D, Dv) pairs whose
  /// last else materializes `fallback` in the buffer; the buffer as the
  /// result tensor.
  Value dispatch(ImplicitLocOpBuilder &b,
                 ArrayRef<AttentionKernelConfig> cfgs,
                 ArrayRef<Value> operands, RankedTensorType resultType,
                 function_ref<Value(ImplicitLocOpBuilder &)> fallback) {
    Value q = operands[0], value = operands[2];
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < 4; ++i)
      if (resultType.isDynamicDim(i))
        sizes.push_back(tensor::DimOp::create(b, i == 3 ? value : q, i));
    auto outType =
        MemRefType::get(resultType.getShape(), resultType.getElementType());
    Value out = memref::AllocOp::create(b, outType, sizes);
    if (staticHeadDims(q, value)) {
      launch(b, cfgs.front(), operands, out);
    } else {
      Value d = tensor::DimOp::create(b, q, 3);
      Value dv = tensor::DimOp::create(b, value, 3);
      std::function<void(ImplicitLocOpBuilder &, size_t)> chain =
          [&](ImplicitLocOpBuilder &cb, size_t i) {
            if (i == cfgs.size()) {
              bufferization::MaterializeInDestinationOp::create(
                  cb, fallback(cb), out)
                  .setWritable(true);
              return;
            }
            const AttentionKernelConfig &cfg = cfgs[i];
            Value cond = arith::AndIOp::create(
                cb,
                arith::CmpIOp::create(
                    cb, arith::CmpIPredicate::eq, d,
                    arith::ConstantIndexOp::create(cb, cfg.d)),
                arith::CmpIOp::create(
                    cb, arith::CmpIPredicate::eq, dv,
                    arith::ConstantIndexOp::create(cb, cfg.dv)));
            auto ifOp = scf::IfOp::create(cb, cond, /*withElseRegion=*/true);
            OpBuilder::InsertionGuard guard(cb);
            cb.setInsertionPointToStart(ifOp.thenBlock());
            launch(cb, cfg, operands, out);
            cb.setInsertionPointToStart(ifOp.elseBlock());
            chain(cb, i + 1);
          };
      chain(b, 0);
    }
    return bufferization::ToTensorOp::create(b, resultType, out,
                                             b.getUnitAttr(), b.getUnitAttr());
  }

  /// Calls the kernel's stub on buffers of the operands and `out`.
  void launch(ImplicitLocOpBuilder &b, const AttentionKernelConfig &cfg,
              ArrayRef<Value> operands, Value out) {
    SmallVector<Type> argTypes =
        gpu_kernels::blockAttentionStubOperandTypes(b.getContext(), cfg.elem);
    int64_t dyn = ShapedType::kDynamic;
    SmallVector<Value> args;
    for (auto [v, argType] : llvm::zip(operands, argTypes)) {
      auto t = cast<RankedTensorType>(v.getType());
      auto bufType = MemRefType::get(
          t.getShape(), t.getElementType(),
          StridedLayoutAttr::get(b.getContext(), dyn,
                                 SmallVector<int64_t>(t.getRank(), dyn)));
      Value buf = bufferization::ToBufferOp::create(b, bufType, v,
                                                    /*read_only=*/true);
      args.push_back(memref::CastOp::create(b, argType, buf));
    }
    args.push_back(memref::CastOp::create(b, argTypes.back(), out));
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
      std::optional<AttentionKernelConfig> cfg =
          gpu_kernels::stubConfig(callee);
      if (!cfg) {
        callee.emitError()
            << "invalid 'sparsek.kernel' configuration: expected kind = "
               "\"block_attention\", elem f16 or bf16, d and dv 64 or 128, "
               "block_q a multiple of 16 up to 128, key_tile a multiple of "
               "16 up to 64 within 48 KiB of shared memory, window >= 0, "
               "scale > 0 and a gate";
        return signalPassFailure();
      }
      SmallVector<Type> expected =
          gpu_kernels::blockAttentionStubOperandTypes(&getContext(),
                                                      cfg->elem);
      if (callee.getFunctionType().getInputs() != ArrayRef<Type>(expected) ||
          callee.getNumResults() != 0) {
        callee.emitError()
            << "kernel stub signature must be (q, key, value, u, kth_score, "
               "kth_index, tau, union_keys, union_count, out) as memrefs "
               "with fully dynamic shapes and strided layouts, no results";
        return signalPassFailure();
      }
      OpBuilder builder(call);
      ImplicitLocOpBuilder b(call.getLoc(), builder);
      gpu_kernels::buildBlockAttentionLaunch(b, module, *cfg,
                                             llvm::to_vector(call.getOperands()));
      call.erase();
    }
    for (func::FuncOp f :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (gpu_kernels::isKernelStub(f) && f.symbolKnownUseEmpty(module))
        f.erase();
  }
};

} // namespace
