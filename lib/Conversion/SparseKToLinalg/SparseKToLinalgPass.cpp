//===- SparseKToLinalgPass.cpp - convert-sparsek-to-linalg ------*- C++ -*-===//

#include "Utils.h"
#include "sparsek/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

void mlir::sparsek::populateSparseKToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  detail::populateScorePatterns(patterns);
  detail::populateMaskPatterns(patterns);
  detail::populateSelectionPatterns(patterns);
  detail::populateAttentionPatterns(patterns);
}

namespace {

struct ConvertSparseKToLinalgPass
    : sparsek::impl::ConvertSparseKToLinalgPassBase<
          ConvertSparseKToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    // Every sparsek op must go: a leftover (threshold/topk with a dynamic N
    // in their result types) is an error, reported by the driver.
    target.addIllegalDialect<SparseKDialect>();
    // What the lowerings produce.
    target.addLegalDialect<arith::ArithDialect,
                           bufferization::BufferizationDialect,
                           linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    // Everything else in the module (func, bufferization, ...) is untouched.
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateSparseKToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
