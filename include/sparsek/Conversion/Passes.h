//===- Passes.h - sparsek conversion passes ---------------------*- C++ -*-===//

#ifndef SPARSEK_CONVERSION_PASSES_H
#define SPARSEK_CONVERSION_PASSES_H

#include "sparsek/Conversion/SparseKToLinalg/SparseKToLinalg.h"

#include "mlir/Pass/Pass.h"

// Dialects the conversions create (their passes' dependent dialects).
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir {
namespace sparsek {

#define GEN_PASS_DECL
#include "sparsek/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparsek/Conversion/Passes.h.inc"

} // namespace sparsek
} // namespace mlir

#endif // SPARSEK_CONVERSION_PASSES_H
