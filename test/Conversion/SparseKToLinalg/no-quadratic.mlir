// SPEC section 7: no lowering materialises an N x M tensor. With N = 333 and
// M = 777 (sizes that occur nowhere else), no tensor or memref type may carry
// both, before or after bufferization. Causal and non-causal, all stages.
// (FileCheck's --implicit-check-not applies everywhere: a CHECK-NOT before
// the first label would only look above it.)
// DEFINE: %{nxm} = --implicit-check-not="{{(tensor|memref)<([0-9?]+x)*333x([0-9?]+x)*777}}" --implicit-check-not="{{(tensor|memref)<([0-9?]+x)*777x([0-9?]+x)*333}}" --implicit-check-not="sparsek."
// RUN: sparsek-opt %s --convert-sparsek-to-linalg | FileCheck %s %{nxm}
// RUN: sparsek-opt %s --convert-sparsek-to-linalg --canonicalize --cse \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s %{nxm}
// RUN: sparsek-opt %s --sparsek-decompose --convert-sparsek-to-linalg | FileCheck %s %{nxm}
// RUN: sparsek-opt %s --convert-sparsek-to-linalg="parallel-selection" | FileCheck %s %{nxm}
// RUN: sparsek-opt %s --convert-sparsek-to-linalg="parallel-selection" --canonicalize --cse \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s %{nxm}
// CHECK-LABEL: func.func @causal
// CHECK-LABEL: func.func @noncausal
// CHECK-LABEL: func.func @backward

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

// The backward pass too (its threshold term runs over keys and queries with
// binary searches, never over pairs).
func.func @backward(%q: tensor<1x4x333x32xf32>, %k: tensor<1x2x777x32xf32>,
                    %v: tensor<1x2x777x32xf32>, %u: tensor<1x2x777xf32>,
                    %o: tensor<1x4x333x32xf32>, %g: tensor<1x4x333x32xf32>)
    -> (tensor<1x4x333x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777xf32>) {
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 8 : i64, window = 16 : i64, gate = #sparsek.gate<logit>}
       : (tensor<1x4x333x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777xf32>, tensor<1x4x333x32xf32>, tensor<1x4x333x32xf32>)
         -> (tensor<1x4x333x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777xf32>)
  return %dq, %dk, %dv, %du : tensor<1x4x333x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777x32xf32>, tensor<1x2x777xf32>
}
