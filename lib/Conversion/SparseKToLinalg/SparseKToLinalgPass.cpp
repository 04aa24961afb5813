//===- SparseKToLinalgPass.cpp - convert-sparsek-to-linalg ------*- C++ -*-===//

#include "Utils.h"
#include "sparsek/Conversion/Passes.h"
#include "sparsek/Dialect/SparseK/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::sparsek {
#define GEN_PASS_DEF_CONVERTSPARSEKTOLINALGPASS
#include "sparsek/Conversion/Passes.h.inc"
} // namespace mlir::sparsek

using namespace mlir;
using namespace mlir::sparsek;

namespace {

/// The sizes of result `r` of a sparsek op, from its operands (static sizes
/// from the result type).
SmallVector<Value> resultSizes(ImplicitLocOpBuilder &b, Operation *op,
                               unsigned r) {
  auto type = cast<RankedTensorType>(op->getResult(r).getType());
  // For each result dim: (operand, dim) it comes from, or none.
  SmallVector<std::pair<Value, int64_t>> from;
  if (auto s = dyn_cast<ScoreOp>(op))
    from = {{s.getX(), 0}, {s.getWScore(), 0}, {s.getX(), 1}};
  else if (auto m = dyn_cast<MaskOp>(op))
    for (int64_t d = 0; d < type.getRank(); ++d)
      from.push_back({m.getZ(), d});
  else if (isa<AttentionBackwardOp, BlockAttentionBackwardOp>(op))
    for (int64_t d = 0; d < type.getRank(); ++d)
      from.push_back({op->getOperand(r), d}); // dq, dkey, dvalue, du: q, key, value, u
  else if (auto s = dyn_cast<BlockSelectOp>(op); s && s.getQueries()) {
    // N from `queries`: [B, Hkv, N] or [B, Hkv, ceil(N / block_size), ...].
    Value n = sparsek::detail::clampedQueries(b, s);
    if (r >= 3)
      n = arith::CeilDivUIOp::create(
          b, n, sparsek::detail::constIndex(b, s.getBlockSize()));
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      sizes.push_back(!type.isDynamicDim(d)
                          ? sparsek::detail::constIndex(b, type.getDimSize(d))
                      : d == 2 ? n
                               : sparsek::detail::dimValue(b, s.getU(), d));
    return sizes;
  } else if (isa<ThresholdOp, TopKOp, BlockSelectOp>(op))
    from = {{op->getOperand(0), 0}, {op->getOperand(0), 1}, {Value(), 0},
            {Value(), 0}};
  else // gathered_attention, attention: [B, Hq, N] of q, Dv of value.
    from = {{op->getOperand(0), 0}, {op->getOperand(0), 1},
            {op->getOperand(0), 2}, {op->getOperand(2), 3}};
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d) || !from[d].first)
      sizes.push_back(sparsek::detail::constIndex(
          b, type.isDynamicDim(d) ? 0 : type.getDimSize(d)));
    else
      sizes.push_back(sparsek::detail::dimValue(b, from[d].first, from[d].second));
  }
  return sizes;
}

/// An op whose results all have a static zero-sized dimension computes
/// nothing: its results are empty tensors. (The loop nests of the lowerings
/// would carry static slices into zero-sized dimensions, which upstream
/// verifiers reject.)
struct EmptyResults : RewritePattern {
  EmptyResults(MLIRContext *ctx, PatternBenefit benefit)
      : RewritePattern(MatchAnyOpTypeTag(), benefit, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa<SparseKDialect>(op->getDialect()) || op->getNumResults() == 0)
      return failure();
    for (Type t : op->getResultTypes()) {
      auto rt = dyn_cast<RankedTensorType>(t);
      if (!rt || !llvm::is_contained(rt.getShape(), 0))
        return rewriter.notifyMatchFailure(op, "a result has elements");
    }
    ImplicitLocOpBuilder b(op->getLoc(), rewriter);
    SmallVector<Value> results;
    for (unsigned r = 0; r < op->getNumResults(); ++r) {
      auto rt = cast<RankedTensorType>(op->getResult(r).getType());
      results.push_back(sparsek::detail::emptyTensor(b, rt.getShape(),
                                            resultSizes(b, op, r),
                                            rt.getElementType()));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::sparsek::populateSparseKToLinalgConversionPatterns(
    RewritePatternSet &patterns, bool parallelSelection,
    int64_t fusedBlockSize) {
  patterns.add<EmptyResults>(patterns.getContext(), /*benefit=*/4);
  // Layers that can be split into stages are (once, for both pipelines).
  populateSparseKDecomposePatterns(patterns);
  detail::populateScorePatterns(patterns);
  detail::populateDecodePatterns(patterns);
  detail::populateMaskPatterns(patterns);
  detail::populateSelectionPatterns(patterns, parallelSelection);
  detail::populateAttentionPatterns(patterns, parallelSelection,
                                    fusedBlockSize);
  detail::populateBackwardPatterns(patterns, parallelSelection);
}

namespace {

struct ConvertSparseKToLinalgPass
    : sparsek::impl::ConvertSparseKToLinalgPassBase<
          ConvertSparseKToLinalgPass> {
  using ConvertSparseKToLinalgPassBase::ConvertSparseKToLinalgPassBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // threshold and topk learn the query length N from their result type
    // only: a dynamic N there cannot be lowered.
    bool unlowerable = false;
    getOperation()->walk([&](Operation *op) {
      if (!isa<ThresholdOp, TopKOp, BlockSelectOp>(op) ||
          !cast<RankedTensorType>(op->getResult(0).getType()).isDynamicDim(2))
        return;
      if (auto s = dyn_cast<BlockSelectOp>(op); s && s.getQueries())
        return; // N from its operand
      op->emitError() << "cannot lower '" << op->getName()
                      << "' with a dynamic query length N (result dim 2): "
                         "N is known only from the result type; give it a "
                         "static N, or use sparsek.attention, which takes N "
                         "from 'q'";
      unlowerable = true;
    });
    if (gpu)
      getOperation()->walk([&](DecodeStepOp op) {
        op.emitError() << "sparsek.decode_step on the GPU needs f16 or bf16 "
                          "elements and head dims D = Dv of 64 or 128 (the "
                          "decode kernels of convert-sparsek-to-gpu); its "
                          "generic lowering runs on the CPU only";
        unlowerable = true;
      });
    if (unlowerable)
      return signalPassFailure();
    ConversionTarget target(*ctx);
    // Every sparsek op must go: a leftover (threshold/topk with a dynamic N
    // in their result types) is an error, reported by the driver.
    target.addIllegalDialect<SparseKDialect>();
    // convert-sparsek-to-gpu's kernel launches on tensors stay until
    // bufferization turns them into calls of their kernels' stubs.
    target.addLegalOp<KernelCallOp>();
    // What the lowerings produce.
    target.addLegalDialect<arith::ArithDialect,
                           bufferization::BufferizationDialect,
                           linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    // Everything else in the module (func, bufferization, ...) is untouched.
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    if (fusedBlockSize < 0) {
      getOperation()->emitError()
          << "invalid fused-block-size " << fusedBlockSize.getValue()
          << ": expected 0 (unfused) or queries per block (>= 1)";
      return signalPassFailure();
    }
    populateSparseKToLinalgConversionPatterns(patterns, parallelSelection,
                                              fusedBlockSize);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
