// RUN: sparsek-opt %s --convert-sparsek-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// Score: one generic for bias + slope * j, one reduction over C.
// CHECK-LABEL: func.func @score
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x64x32xf16>, tensor<2x32xf16>) outs(%[[INIT]] : tensor<2x2x64xf32>)
// CHECK-NOT: sparsek.score
func.func @score(%x: tensor<2x64x32xf16>, %w: tensor<2x32xf16>, %b: tensor<2xf32>) -> tensor<2x2x64xf32> {
  %u = sparsek.score %x, %w bias %b {slope = 0.5 : f64} : (tensor<2x64x32xf16>, tensor<2x32xf16>, tensor<2xf32>) -> tensor<2x2x64xf32>
  return %u : tensor<2x2x64xf32>
}

// -----

// Mask: 32 bisection steps, each a row reduction.
// CHECK-LABEL: func.func @mask
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C32]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
func.func @mask(%z: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %p, %t = sparsek.mask %z k = 3 : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>)
  return %p, %t : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// Thresholds: a forall over rows; per row a sweep over queries with heaps
// (scf.while sift loops) and parallel_insert_slice of the row.
// CHECK-LABEL: func.func @threshold
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 2) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<1x2x16xf32>)
// CHECK: bufferization.alloc_tensor
// CHECK: scf.for
// CHECK: scf.while
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, 1, %{{.*}}] [1, 1, 1] : tensor<?xf32> into tensor<1x2x16xf32>
func.func @threshold(%u: tensor<1x2x64xf32>) -> tensor<1x2x16xf32> {
  %t = sparsek.threshold %u k = 4, window = 2 : (tensor<1x2x64xf32>) -> tensor<1x2x16xf32>
  return %t : tensor<1x2x16xf32>
}

// -----

// CHECK-LABEL: func.func @topk
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 2)
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, 0, 0] [1, 1, %{{.*}}, %{{.*}}] [1, 1, 1, 1] : tensor<?x?xi32> into tensor<1x2x16x4xi32>
func.func @topk(%u: tensor<1x2x64xf32>) -> tensor<1x2x16x4xi32> {
  %i = sparsek.topk %u k = 4, window = 2 : (tensor<1x2x64xf32>) -> tensor<1x2x16x4xi32>
  return %i : tensor<1x2x16x4xi32>
}

// -----

// Gathered attention: a forall over (query, query head, batch); online
// softmax with exp; one output row per query.
// CHECK-LABEL: func.func @gathered
// CHECK: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (16, 4, 1)
// CHECK: math.exp
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, 1, %{{.*}}] [1, 1, 1, 1] : tensor<?xbf16> into tensor<1x4x16x8xbf16>
func.func @gathered(%q: tensor<1x4x16x8xbf16>, %k: tensor<1x2x64x8xbf16>, %v: tensor<1x2x64x8xbf16>,
                    %u: tensor<1x2x64xf32>, %idx: tensor<1x2x16x4xi32>, %tau: tensor<1x2x16xf32>) -> tensor<1x4x16x8xbf16> {
  %o = sparsek.gathered_attention %q, %k, %v, %u, %idx, %tau window = 2 {gate = #sparsek.gate<logit>}
       : (tensor<1x4x16x8xbf16>, tensor<1x2x64x8xbf16>, tensor<1x2x64x8xbf16>, tensor<1x2x64xf32>,
          tensor<1x2x16x4xi32>, tensor<1x2x16xf32>) -> tensor<1x4x16x8xbf16>
  return %o : tensor<1x4x16x8xbf16>
}

// -----

// The whole layer with dynamic shapes: N comes from q.
// CHECK-LABEL: func.func @attention_dynamic
// CHECK: %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x?x?x?xf32>
// CHECK-NOT: sparsek.
func.func @attention_dynamic(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
                             %u: tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o = sparsek.attention %q, %k, %v, %u k = 3, window = 4
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// -----

// threshold/topk learn N only from their result type: dynamic N is an
// error, not a crash.
func.func @threshold_dynamic_n(%u: tensor<1x2x64xf32>) -> tensor<1x2x?xf32> {
  // expected-error @+1 {{cannot lower 'sparsek.threshold' with a dynamic query length N (result dim 2)}}
  %t = sparsek.threshold %u k = 4, window = 2 : (tensor<1x2x64xf32>) -> tensor<1x2x?xf32>
  return %t : tensor<1x2x?xf32>
}

// -----

// A rank-1 mask is one row: its row map has no results, and tau is rank 0.
// CHECK-LABEL: func.func @mask_rank1
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["reduction"]}
// CHECK-NOT: sparsek.mask
func.func @mask_rank1(%z: tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>) {
  %p, %t = sparsek.mask %z k = 3 : (tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>)
  return %p, %t : tensor<?xf32>, tensor<f32>
}

// -----

// Statically empty results compute nothing: empty tensors, no loops (their
// slices would index zero-sized dims, which upstream verifiers reject).
// CHECK-LABEL: func.func @empty_layer
// CHECK-NOT: scf.
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x2x0x16xf32>
// CHECK-NEXT: return %[[E]]
func.func @empty_layer(%q: tensor<1x2x0x16xf32>, %k: tensor<1x2x0x16xf32>, %v: tensor<1x2x0x16xf32>, %u: tensor<1x2x0xf32>) -> tensor<1x2x0x16xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 4 : i64} : (tensor<1x2x0x16xf32>, tensor<1x2x0x16xf32>, tensor<1x2x0x16xf32>, tensor<1x2x0xf32>) -> tensor<1x2x0x16xf32>
  return %o : tensor<1x2x0x16xf32>
}
