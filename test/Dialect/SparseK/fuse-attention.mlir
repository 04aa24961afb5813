// sparsek-fuse-attention: a causal layer with a static N (or its stages)
// becomes block selection + block attention (blocks of 4 queries here: 50 queries, 13
// blocks, unions of 8 + 4 - 1 = 11 keys); scale and gate carry over. Left
// alone: the non-causal layer and a dynamic N. A bad block size is an error.
// RUN: sparsek-opt %s --sparsek-fuse-attention="block-size=4" | FileCheck %s
// RUN: sparsek-opt %s --sparsek-fuse-attention | FileCheck %s --check-prefix=DEFAULT
// RUN: not sparsek-opt %s --sparsek-fuse-attention="block-size=0" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not sparsek-opt %s --convert-sparsek-to-linalg="fused-block-size=-1" 2>&1 | FileCheck %s --check-prefix=BADLOWER

// CHECK-LABEL: func.func @causal
// CHECK: %[[S:.*]], %[[I:.*]], %[[T:.*]], %[[U:.*]], %[[C:.*]] = sparsek.block_select %{{.*}} k = 8, window = 16, block_size = 4 : (tensor<1x2x64xf32>) -> (tensor<1x2x50xf32>, tensor<1x2x50xi32>, tensor<1x2x50xf32>, tensor<1x2x13x11xi32>, tensor<1x2x13xi32>)
// CHECK: sparsek.block_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[S]], %[[I]], %[[T]], %[[U]], %[[C]] window = 16, block_size = 4 {gate = #sparsek.gate<v>, scale = 2.500000e-01 : f64}
// CHECK-NOT: sparsek.attention
// DEFAULT-LABEL: func.func @causal
// DEFAULT: sparsek.block_select %{{.*}} k = 8, window = 16, block_size = 128 : (tensor<1x2x64xf32>) -> ({{.*}}, tensor<1x2x1x135xi32>, tensor<1x2x1xi32>)
func.func @causal(%q: tensor<1x4x50x8xbf16>, %k: tensor<1x2x64x8xbf16>, %v: tensor<1x2x64x8xbf16>,
                  %u: tensor<1x2x64xf32>) -> tensor<1x4x50x8xbf16> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 8 : i64, window = 16 : i64, scale = 0.25 : f64, gate = #sparsek.gate<v>}
       : (tensor<1x4x50x8xbf16>, tensor<1x2x64x8xbf16>, tensor<1x2x64x8xbf16>, tensor<1x2x64xf32>) -> tensor<1x4x50x8xbf16>
  return %o : tensor<1x4x50x8xbf16>
}

// CHECK-LABEL: func.func @noncausal
// CHECK-NOT: sparsek.block_
// CHECK: sparsek.attention
func.func @noncausal(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                     %u: tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 8 : i64, window = 0 : i64, causal = false}
       : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// CHECK-LABEL: func.func @dynamic_n
// CHECK-NOT: sparsek.block_
// CHECK: sparsek.attention
func.func @dynamic_n(%q: tensor<1x4x?x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                     %u: tensor<1x2x64xf32>) -> tensor<1x4x?x8xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 8 : i64, window = 16 : i64}
       : (tensor<1x4x?x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>) -> tensor<1x4x?x8xf32>
  return %o : tensor<1x4x?x8xf32>
}

// The same layer as its stages (sparsek-decompose's output): fused the same
// way; the stages stay (unused: canonicalize removes them).
// CHECK-LABEL: func.func @stages
// CHECK: sparsek.block_select %{{.*}} k = 8, window = 16, block_size = 4
// CHECK: sparsek.block_attention {{.*}} window = 16, block_size = 4 {gate = #sparsek.gate<logit>}
// CHECK-NOT: sparsek.gathered_attention
func.func @stages(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                  %u: tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32> {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x50xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x50x8xi32>
  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %i, %t) {window = 16 : i64, gate = #sparsek.gate<logit>}
       : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50x8xi32>, tensor<1x2x50xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// Left alone: stages whose window differs from the attention's (not one
// layer), and indices that do not come from a topk.
// CHECK-LABEL: func.func @stages_other_window
// CHECK-NOT: sparsek.block_
// CHECK: sparsek.gathered_attention
func.func @stages_other_window(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                               %u: tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32> {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x50xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x50x8xi32>
  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %i, %t) {window = 8 : i64}
       : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50x8xi32>, tensor<1x2x50xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// CHECK-LABEL: func.func @given_indices
// CHECK-NOT: sparsek.block_
// CHECK: sparsek.gathered_attention
func.func @given_indices(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                         %u: tensor<1x2x64xf32>, %i: tensor<1x2x50x8xi32>) -> tensor<1x4x50x8xf32> {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x50xf32>
  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %i, %t) {window = 16 : i64}
       : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>, tensor<1x2x50x8xi32>, tensor<1x2x50xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// BAD: sparsek-fuse-attention: invalid block-size 0: expected 1 to 2^30 queries per block
// BADLOWER: invalid fused-block-size -1: expected 0 (unfused) or queries per block (>= 1)

// k above the number of keys (here 2^63 - 1, as a fuzzer wrote it): a query
// never has more than M candidates and with at most k all are selected with
// weight 1, so the block selection uses k = M = 64 (same result, a union of
// 64 + 4 - 1 keys); no overflow in the union's width.
// CHECK-LABEL: func.func @huge_k
// CHECK: sparsek.block_select %{{.*}} k = 64, window = 16, block_size = 4 : (tensor<1x2x64xf32>) -> ({{.*}}, tensor<1x2x13x67xi32>, tensor<1x2x13xi32>)
func.func @huge_k(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>,
                  %u: tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 9223372036854775807 : i64, window = 16 : i64}
       : (tensor<1x4x50x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// With a dynamic M the union of k + 4 - 1 keys would exceed 2^30 (an i32
// count): left unfused.
// CHECK-LABEL: func.func @huge_k_dynamic_m
// CHECK-NOT: sparsek.block_
// CHECK: sparsek.attention
func.func @huge_k_dynamic_m(%q: tensor<1x4x50x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>,
                            %u: tensor<1x2x?xf32>) -> tensor<1x4x50x8xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 1073741824 : i64, window = 16 : i64}
       : (tensor<1x4x50x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?xf32>) -> tensor<1x4x50x8xf32>
  return %o : tensor<1x4x50x8xf32>
}

// A layer that returns its log-sum-exp stays whole (block_attention has
// none; the conversions lower it directly).
// CHECK-LABEL: func.func @with_lse
// CHECK: %{{.*}}, %{{.*}} = sparsek.attention
// CHECK-NOT: sparsek.block_select
func.func @with_lse(%q: tensor<1x4x16x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x16xf32>,
                    %u: tensor<1x2x16xf32>) -> (tensor<1x4x16x16xf32>, tensor<1x4x16xf32>) {
  %o, %l = sparsek.attention %q, %k, %v, %u k = 4, window = 2
      : (tensor<1x4x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16xf32>)
        -> (tensor<1x4x16x16xf32>, tensor<1x4x16xf32>)
  return %o, %l : tensor<1x4x16x16xf32>, tensor<1x4x16xf32>
}
