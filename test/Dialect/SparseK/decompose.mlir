// RUN: sparsek-opt %s -sparsek-decompose -split-input-file | FileCheck %s

// Causal: threshold + topk + gathered_attention over the same u (SPEC 6).
// CHECK-LABEL: func.func @causal
// CHECK-SAME: (%[[Q:.*]]: tensor<2x8x48x64xbf16>, %[[K:.*]]: tensor<2x2x64x64xbf16>, %[[V:.*]]: tensor<2x2x64x32xbf16>, %[[U:.*]]: tensor<2x2x64xf32>)
// CHECK: %[[TAU:.*]] = sparsek.threshold %[[U]] k = 16, window = 8 : (tensor<2x2x64xf32>) -> tensor<2x2x48xf32>
// CHECK: %[[IDX:.*]] = sparsek.topk %[[U]] k = 16, window = 8 : (tensor<2x2x64xf32>) -> tensor<2x2x48x16xi32>
// CHECK: %[[O:.*]] = sparsek.gathered_attention %[[Q]], %[[K]], %[[V]], %[[U]], %[[IDX]], %[[TAU]] window = 8 {gate = #sparsek.gate<logit>, scale = 2.500000e-01 : f64}
// CHECK-NOT: sparsek.attention
// CHECK: return %[[O]]
func.func @causal(%q: tensor<2x8x48x64xbf16>, %k: tensor<2x2x64x64xbf16>,
                  %v: tensor<2x2x64x32xbf16>, %u: tensor<2x2x64xf32>) -> tensor<2x8x48x32xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u)
         {k = 16 : i64, window = 8 : i64, scale = 0.25 : f64, gate = #sparsek.gate<logit>}
       : (tensor<2x8x48x64xbf16>, tensor<2x2x64x64xbf16>, tensor<2x2x64x32xbf16>, tensor<2x2x64xf32>)
         -> tensor<2x8x48x32xbf16>
  return %o : tensor<2x8x48x32xbf16>
}

// -----

// Non-causal: one selection (a single query at position M - 1, window 0),
// broadcast along N.
// CHECK-LABEL: func.func @noncausal
// CHECK: %[[TAU1:.*]] = sparsek.threshold %{{.*}} k = 4, window = 0 : (tensor<1x2x64xf32>) -> tensor<1x2x1xf32>
// CHECK: %[[IDX1:.*]] = sparsek.topk %{{.*}} k = 4, window = 0 : (tensor<1x2x64xf32>) -> tensor<1x2x1x4xi32>
// CHECK: %[[TC:.*]] = tensor.collapse_shape %[[TAU1]] {{\[\[}}0], [1, 2]] : tensor<1x2x1xf32> into tensor<1x2xf32>
// CHECK: %[[TB:.*]] = linalg.broadcast ins(%[[TC]] : tensor<1x2xf32>) outs(%{{.*}} : tensor<1x2x16xf32>) dimensions = [2]
// CHECK: %[[IC:.*]] = tensor.collapse_shape %[[IDX1]] {{\[\[}}0], [1, 2], [3]] : tensor<1x2x1x4xi32> into tensor<1x2x4xi32>
// CHECK: %[[IB:.*]] = linalg.broadcast ins(%[[IC]] : tensor<1x2x4xi32>) outs(%{{.*}} : tensor<1x2x16x4xi32>) dimensions = [2]
// CHECK: sparsek.gathered_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[IB]], %[[TB]] window = 0 :
func.func @noncausal(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x64x8xf32>,
                     %v: tensor<1x2x64x8xf32>, %u: tensor<1x2x64xf32>) -> tensor<1x4x16x8xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 4, window = 0 {causal = false}
       : (tensor<1x4x16x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// Dynamic batch, heads and M are fine: only N must be static.
// CHECK-LABEL: func.func @dynamic_m
// CHECK: sparsek.threshold %{{.*}} k = 2, window = 1 : (tensor<?x?x?xf32>) -> tensor<?x?x8xf32>
// CHECK: sparsek.topk %{{.*}} k = 2, window = 1 : (tensor<?x?x?xf32>) -> tensor<?x?x8x2xi32>
// CHECK: sparsek.gathered_attention
func.func @dynamic_m(%q: tensor<?x?x8x4xf32>, %k: tensor<?x?x?x4xf32>,
                     %v: tensor<?x?x?x4xf32>, %u: tensor<?x?x?xf32>) -> tensor<?x?x8x4xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 2, window = 1
       : (tensor<?x?x8x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?xf32>) -> tensor<?x?x8x4xf32>
  return %o : tensor<?x?x8x4xf32>
}

// -----

// Dynamic N: threshold/topk could not carry N in their result types, so the
// layer stays whole.
// CHECK-LABEL: func.func @dynamic_n
// CHECK: sparsek.attention
// CHECK-NOT: sparsek.threshold
func.func @dynamic_n(%q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>,
                     %v: tensor<1x2x?x4xf32>, %u: tensor<1x2x?xf32>) -> tensor<1x2x?x4xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 2, window = 1
       : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

// Nothing else is touched: other sparsek ops, and dead ones, stay.
// CHECK-LABEL: func.func @untouched
// CHECK: sparsek.threshold
// CHECK: sparsek.mask
func.func @untouched(%u: tensor<1x2x64xf32>) -> tensor<1x2x64xf32> {
  %t = sparsek.threshold %u k = 8, window = 4 : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  %p, %tau = sparsek.mask %u k = 3 : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2xf32>)
  return %t : tensor<1x2x64xf32>
}

// -----

// A layer that returns its log-sum-exp stays whole (the stages have none).
// CHECK-LABEL: func.func @with_lse
// CHECK: %{{.*}}, %{{.*}} = sparsek.attention
// CHECK-NOT: sparsek.gathered_attention
func.func @with_lse(%q: tensor<1x4x16x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x16xf32>,
                    %u: tensor<1x2x16xf32>) -> (tensor<1x4x16x16xf32>, tensor<1x4x16xf32>) {
  %o, %l = sparsek.attention %q, %k, %v, %u k = 4, window = 2
      : (tensor<1x4x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16xf32>)
        -> (tensor<1x4x16x16xf32>, tensor<1x4x16xf32>)
  return %o, %l : tensor<1x4x16x16xf32>, tensor<1x4x16xf32>
}
