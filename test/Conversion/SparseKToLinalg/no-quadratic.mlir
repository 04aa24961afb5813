// SPEC section 7: no lowering materialises an N x M tensor. With N = 333 and
// M = 777 (sizes that occur nowhere else), no tensor or memref type may carry
// both, before or after bufferization. Causal and non-causal, all stages.
// RUN: sparsek-opt %s --convert-sparsek-to-linalg | FileCheck %s
// RUN: sparsek-opt %s --convert-sparsek-to-linalg --canonicalize --cse \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s
// RUN: sparsek-opt %s --sparsek-decompose --convert-sparsek-to-linalg | FileCheck %s
// CHECK-NOT: {{(tensor|memref)<([0-9?]+x)*333x([0-9?]+x)*777}}
// CHECK-NOT: {{(tensor|memref)<([0-9?]+x)*777x([0-9?]+x)*333}}
// CHECK-NOT: sparsek.
// CHECK-LABEL: func.func @causal
// CHECK-LABEL: func.func @noncausal

func.func @causal(%q: tensor<1x4x333x32xbf16>, %k: tensor<1x2x777x32xbf16>,
                  %v: tensor<1x2x777x32xbf16>, %u: tensor<1x2x777xf32>) -> tensor<1x4x333x32xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 8 : i64, window = 16 : i64}
       : (tensor<1x4x333x32xbf16>, tensor<1x2x777x32xbf16>, tensor<1x2x777x32xbf16>, tensor<1x2x777xf32>)
         -> tensor<1x4x333x32xbf16>
  return %o : tensor<1x4x333x32xbf16>
}

func.func @noncausal(%q: tensor<1x4x333x32xf32>, %k: tensor<1x2x777x32xf32>,
                     %v: tensor<1x2x777x32xf32>, %u: tensor<1x2x777xf32>) -> tensor<1x4x333x32xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 8 : i64, window = 0 : i64, causal = false}
       : (tensor<1x4x333x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777xf32>)
         -> tensor<1x4x333x32xf32>
  return %o : tensor<1x4x333x32xf32>
}
