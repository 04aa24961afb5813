// Folds and canonicalizations that SPEC makes true (SparseKFolds.cpp).
// RUN: sparsek-opt %s -canonicalize -split-input-file | FileCheck %s

// SPEC 2: n <= k selects everything: p = 1, tau = -inf.
// CHECK-LABEL: func.func @mask_all_selected
// CHECK-DAG: %[[P:.*]] = arith.constant dense<1.000000e+00> : tensor<4x8xf32>
// CHECK-DAG: %[[T:.*]] = arith.constant dense<0xFF800000> : tensor<4xf32>
// CHECK-NOT: sparsek.mask
// CHECK: return %[[P]], %[[T]]
func.func @mask_all_selected(%z: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %p, %tau = sparsek.mask %z k = 8 : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>)
  return %p, %tau : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// n > k: the projection is data-dependent; nothing folds.
// CHECK-LABEL: func.func @mask_partial
// CHECK: sparsek.mask %{{.*}} k = 7
func.func @mask_partial(%z: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %p, %tau = sparsek.mask %z k = 7 : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>)
  return %p, %tau : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// Dynamic n: nothing is known; nothing folds.
// CHECK-LABEL: func.func @mask_dynamic
// CHECK: sparsek.mask
func.func @mask_dynamic(%z: tensor<4x?xf32>) -> (tensor<4x?xf32>, tensor<4xf32>) {
  %p, %tau = sparsek.mask %z k = 100 : (tensor<4x?xf32>) -> (tensor<4x?xf32>, tensor<4xf32>)
  return %p, %tau : tensor<4x?xf32>, tensor<4xf32>
}

// -----

// SPEC 3: |C_i| <= M - window = 12 - 4 <= k for every query: tau = -inf.
// CHECK-LABEL: func.func @threshold_all_candidates
// CHECK: %[[T:.*]] = arith.constant dense<0xFF800000> : tensor<1x2x6xf32>
// CHECK-NOT: sparsek.threshold
// CHECK: return %[[T]]
func.func @threshold_all_candidates(%u: tensor<1x2x12xf32>) -> tensor<1x2x6xf32> {
  %t = sparsek.threshold %u k = 8, window = 4 : (tensor<1x2x12xf32>) -> tensor<1x2x6xf32>
  return %t : tensor<1x2x6xf32>
}

// -----

// The last query has M - window = 9 > k = 8 candidates: no fold.
// CHECK-LABEL: func.func @threshold_some_candidates
// CHECK: sparsek.threshold
func.func @threshold_some_candidates(%u: tensor<1x2x12xf32>) -> tensor<1x2x6xf32> {
  %t = sparsek.threshold %u k = 8, window = 3 : (tensor<1x2x12xf32>) -> tensor<1x2x6xf32>
  return %t : tensor<1x2x6xf32>
}

// -----

// Every candidate is selected with weight 1, so the gate is irrelevant.
// CHECK-LABEL: func.func @attention_ungate
// CHECK: sparsek.attention %{{.*}} k = 8, window = 4 {gate = #sparsek.gate<none>}
func.func @attention_ungate(%q: tensor<1x4x12x16xf32>, %k: tensor<1x2x12x16xf32>,
                            %v: tensor<1x2x12x16xf32>, %u: tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 8, window = 4 {gate = #sparsek.gate<logit>}
       : (tensor<1x4x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32>
  return %o : tensor<1x4x12x16xf32>
}

// -----

// Non-causal: all M = 12 keys are candidates; k = 12 selects them all.
// CHECK-LABEL: func.func @attention_ungate_noncausal
// CHECK: sparsek.attention {{.*}} {causal = false, gate = #sparsek.gate<none>}
func.func @attention_ungate_noncausal(%q: tensor<1x4x12x16xf32>, %k: tensor<1x2x12x16xf32>,
                                      %v: tensor<1x2x12x16xf32>, %u: tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 12, window = 0 {causal = false}
       : (tensor<1x4x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32>
  return %o : tensor<1x4x12x16xf32>
}

// -----

// k < M - window: selection is soft; the gate matters and stays.
// CHECK-LABEL: func.func @attention_keeps_gate
// CHECK: sparsek.attention %{{.*}} k = 7, window = 4 : (
func.func @attention_keeps_gate(%q: tensor<1x4x12x16xf32>, %k: tensor<1x2x12x16xf32>,
                                %v: tensor<1x2x12x16xf32>, %u: tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 7, window = 4
       : (tensor<1x4x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32>
  return %o : tensor<1x4x12x16xf32>
}

// -----

// Decomposed form: the threshold folds to -inf, which then ungates the
// gathered attention.
// CHECK-LABEL: func.func @gathered_ungate
// CHECK: sparsek.gathered_attention {{.*}} window = 4 {gate = #sparsek.gate<none>}
func.func @gathered_ungate(%q: tensor<1x4x12x16xf32>, %k: tensor<1x2x12x16xf32>,
                           %v: tensor<1x2x12x16xf32>, %u: tensor<1x2x12xf32>,
                           %idx: tensor<1x2x12x8xi32>) -> tensor<1x4x12x16xf32> {
  %t = sparsek.threshold %u k = 8, window = 4 : (tensor<1x2x12xf32>) -> tensor<1x2x12xf32>
  %o = sparsek.gathered_attention %q, %k, %v, %u, %idx, %t window = 4 {gate = #sparsek.gate<v>}
       : (tensor<1x4x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12xf32>,
          tensor<1x2x12x8xi32>, tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32>
  return %o : tensor<1x4x12x16xf32>
}

// -----

// A finite constant threshold leaves soft weights: the gate stays.
// CHECK-LABEL: func.func @gathered_keeps_gate
// CHECK: sparsek.gathered_attention {{.*}} {gate = #sparsek.gate<v>}
func.func @gathered_keeps_gate(%q: tensor<1x4x12x16xf32>, %k: tensor<1x2x12x16xf32>,
                               %v: tensor<1x2x12x16xf32>, %u: tensor<1x2x12xf32>,
                               %idx: tensor<1x2x12x8xi32>) -> tensor<1x4x12x16xf32> {
  %t = arith.constant dense<0.5> : tensor<1x2x12xf32>
  %o = sparsek.gathered_attention %q, %k, %v, %u, %idx, %t window = 4 {gate = #sparsek.gate<v>}
       : (tensor<1x4x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12xf32>,
          tensor<1x2x12x8xi32>, tensor<1x2x12xf32>) -> tensor<1x4x12x16xf32>
  return %o : tensor<1x4x12x16xf32>
}
