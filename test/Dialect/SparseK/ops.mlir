// Round-trip of every sparsek op, written in the generic form of SPEC.md and
// in the custom form, with static and dynamic dimensions.
// RUN: sparsek-opt %s | sparsek-opt | FileCheck %s
// RUN: sparsek-opt %s --mlir-print-op-generic | sparsek-opt | FileCheck %s
// RUN: sparsek-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @score
// CHECK: %[[U:.*]] = sparsek.score %{{.*}}, %{{.*}} bias %{{.*}} {slope = 5.000000e-01 : f64} : (tensor<2x64x32xf16>, tensor<2x32xf16>, tensor<2xf32>) -> tensor<2x2x64xf32>
// CHECK: sparsek.score %{{.*}}, %{{.*}} : (tensor<?x?x32xbf16>, tensor<2x32xbf16>) -> tensor<?x2x?xf32>
// GENERIC-LABEL: sym_name = "score"
// GENERIC: "sparsek.score"(%{{.*}}, %{{.*}}, %{{.*}}) <{slope = 5.000000e-01 : f64}>
// GENERIC: "sparsek.score"(%{{.*}}, %{{.*}}) <{slope = 0.000000e+00 : f64}>
func.func @score(%x: tensor<2x64x32xf16>, %w: tensor<2x32xf16>, %b: tensor<2xf32>,
                 %xd: tensor<?x?x32xbf16>, %wd: tensor<2x32xbf16>)
    -> (tensor<2x2x64xf32>, tensor<?x2x?xf32>) {
  %u = "sparsek.score"(%x, %w, %b) {slope = 0.5 : f64}
       : (tensor<2x64x32xf16>, tensor<2x32xf16>, tensor<2xf32>) -> tensor<2x2x64xf32>
  %ud = sparsek.score %xd, %wd : (tensor<?x?x32xbf16>, tensor<2x32xbf16>) -> tensor<?x2x?xf32>
  return %u, %ud : tensor<2x2x64xf32>, tensor<?x2x?xf32>
}

// CHECK-LABEL: func.func @mask
// CHECK: %{{.*}}, %{{.*}} = sparsek.mask %{{.*}} k = 3 : (tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4xf32>)
// CHECK: sparsek.mask %{{.*}} k = 1 : (tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>)
// GENERIC-LABEL: sym_name = "mask"
// GENERIC: "sparsek.mask"(%{{.*}}) <{k = 3 : i64}>
func.func @mask(%z: tensor<4x16xf32>, %zd: tensor<?xf32>) -> (tensor<4x16xf32>, tensor<4xf32>, tensor<?xf32>, tensor<f32>) {
  %p, %tau = "sparsek.mask"(%z) {k = 3 : i64} : (tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4xf32>)
  %pd, %taud = sparsek.mask %zd k = 1 : (tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>)
  return %p, %tau, %pd, %taud : tensor<4x16xf32>, tensor<4xf32>, tensor<?xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @threshold_topk
// CHECK: sparsek.threshold %{{.*}} k = 8, window = 16 : (tensor<1x2x64xf32>) -> tensor<1x2x32xf32>
// CHECK: sparsek.topk %{{.*}} k = 8, window = 16 : (tensor<1x2x64xf32>) -> tensor<1x2x32x8xi32>
// CHECK: sparsek.topk %{{.*}} k = 4, window = 0 : (tensor<?x?x?xf32>) -> tensor<?x?x?x?xi32>
// GENERIC-LABEL: sym_name = "threshold_topk"
// GENERIC: "sparsek.threshold"(%{{.*}}) <{k = 8 : i64, window = 16 : i64}>
// GENERIC: "sparsek.topk"(%{{.*}}) <{k = 8 : i64, window = 16 : i64}>
func.func @threshold_topk(%u: tensor<1x2x64xf32>, %ud: tensor<?x?x?xf32>)
    -> (tensor<1x2x32xf32>, tensor<1x2x32x8xi32>, tensor<?x?x?x?xi32>) {
  %tau = "sparsek.threshold"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x32xf32>
  %idx = "sparsek.topk"(%u) {k = 8 : i64, window = 16 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x32x8xi32>
  %idxd = sparsek.topk %ud k = 4, window = 0 : (tensor<?x?x?xf32>) -> tensor<?x?x?x?xi32>
  return %tau, %idx, %idxd : tensor<1x2x32xf32>, tensor<1x2x32x8xi32>, tensor<?x?x?x?xi32>
}

// CHECK-LABEL: func.func @gathered
// CHECK: sparsek.gathered_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} window = 4 : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>, tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
// CHECK: sparsek.gathered_attention {{.*}} window = 0 {gate = #sparsek.gate<logit>, scale = 2.500000e-01 : f64}
// GENERIC-LABEL: sym_name = "gathered"
// GENERIC: "sparsek.gathered_attention"({{.*}}) <{gate = #sparsek.gate<kv>, window = 4 : i64}>
func.func @gathered(%q: tensor<1x8x16x32xbf16>, %k: tensor<1x2x64x32xbf16>, %v: tensor<1x2x64x48xbf16>,
                    %u: tensor<1x2x64xf32>, %idx: tensor<1x2x16x8xi32>, %tau: tensor<1x2x16xf32>,
                    %qd: tensor<?x?x?x?xf16>, %kd: tensor<?x?x?x?xf16>, %vd: tensor<?x?x?x?xf16>,
                    %ud: tensor<?x?x?xf32>, %idxd: tensor<?x?x?x?xi32>, %taud: tensor<?x?x?xf32>)
    -> (tensor<1x8x16x48xbf16>, tensor<?x?x?x?xf16>) {
  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %idx, %tau) {window = 4 : i64}
       : (tensor<1x8x16x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x48xbf16>, tensor<1x2x64xf32>,
          tensor<1x2x16x8xi32>, tensor<1x2x16xf32>) -> tensor<1x8x16x48xbf16>
  %od = sparsek.gathered_attention %qd, %kd, %vd, %ud, %idxd, %taud window = 0
          {gate = #sparsek.gate<logit>, scale = 0.25 : f64}
       : (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>,
          tensor<?x?x?x?xi32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf16>
  return %o, %od : tensor<1x8x16x48xbf16>, tensor<?x?x?x?xf16>
}

// CHECK-LABEL: func.func @attention
// CHECK: sparsek.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} k = 64, window = 512 {gate = #sparsek.gate<v>} : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>, tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>) -> tensor<1x8x4096x128xbf16>
// CHECK: sparsek.attention {{.*}} k = 4, window = 0 {causal = false, gate = #sparsek.gate<none>, scale = 1.250000e-01 : f64}
// CHECK: sparsek.attention {{.*}} k = 2, window = 3 : (tensor<?x4x?x16xf32>
// GENERIC-LABEL: sym_name = "attention"
// GENERIC: "sparsek.attention"({{.*}}) <{causal = true, gate = #sparsek.gate<v>, k = 64 : i64, window = 512 : i64}>
func.func @attention(%q: tensor<1x8x4096x128xbf16>, %key: tensor<1x2x4096x128xbf16>,
                     %value: tensor<1x2x4096x128xbf16>, %u: tensor<1x2x4096xf32>,
                     %qd: tensor<?x4x?x16xf32>, %kd: tensor<?x1x?x16xf32>,
                     %vd: tensor<?x1x?x8xf32>, %ud: tensor<?x1x?xf32>)
    -> (tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<?x4x?x8xf32>) {
  %o = "sparsek.attention"(%q, %key, %value, %u)
         {k = 64 : i64, window = 512 : i64, gate = #sparsek.gate<v>}
       : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
          tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>) -> tensor<1x8x4096x128xbf16>
  %o2 = "sparsek.attention"(%q, %key, %value, %u)
         {k = 4 : i64, window = 0 : i64, causal = false, scale = 0.125 : f64, gate = #sparsek.gate<none>}
       : (tensor<1x8x4096x128xbf16>, tensor<1x2x4096x128xbf16>,
          tensor<1x2x4096x128xbf16>, tensor<1x2x4096xf32>) -> tensor<1x8x4096x128xbf16>
  %o3 = sparsek.attention %qd, %kd, %vd, %ud k = 2, window = 3
       : (tensor<?x4x?x16xf32>, tensor<?x1x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?xf32>) -> tensor<?x4x?x8xf32>
  return %o, %o2, %o3 : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<?x4x?x8xf32>
}

// The fused path's selection op (internal), custom and generic forms.
// CHECK-LABEL: func.func @block_select
// CHECK: sparsek.block_select %{{.*}} k = 8, window = 16, block_size = 4 : (tensor<2x2x64xf32>) -> (tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<2x2x13x11xi32>, tensor<2x2x13xi32>)
// GENERIC-LABEL: sym_name = "block_select"
// GENERIC: "sparsek.block_select"(%{{.*}}) <{block_size = 4 : i64, k = 8 : i64, window = 16 : i64}>
func.func @block_select(%u: tensor<2x2x64xf32>) -> (tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<2x2x13x11xi32>, tensor<2x2x13xi32>) {
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<2x2x64xf32>) -> (tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<2x2x13x11xi32>, tensor<2x2x13xi32>)
  return %a, %b, %c, %d, %e : tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<2x2x13x11xi32>, tensor<2x2x13xi32>
}

// The fused path's attention op (internal), custom and generic forms.
// CHECK-LABEL: func.func @block_attention
// CHECK: sparsek.block_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} window = 16, block_size = 4 {gate = #sparsek.gate<logit>}
// GENERIC-LABEL: sym_name = "block_attention"
// GENERIC: "sparsek.block_attention"({{.*}}) <{block_size = 4 : i64, gate = #sparsek.gate<logit>, window = 16 : i64}>
func.func @block_attention(%q: tensor<2x4x50x8xbf16>, %k: tensor<2x2x64x8xbf16>, %v: tensor<2x2x64x8xbf16>,
                           %u: tensor<2x2x64xf32>, %s: tensor<2x2x50xf32>, %i: tensor<2x2x50xi32>,
                           %t: tensor<2x2x50xf32>, %un: tensor<?x2x13x11xi32>, %c: tensor<2x2x13xi32>) -> tensor<2x4x50x8xbf16> {
  %o = "sparsek.block_attention"(%q, %k, %v, %u, %s, %i, %t, %un, %c) {window = 16 : i64, block_size = 4 : i64, gate = #sparsek.gate<logit>}
      : (tensor<2x4x50x8xbf16>, tensor<2x2x64x8xbf16>, tensor<2x2x64x8xbf16>, tensor<2x2x64xf32>, tensor<2x2x50xf32>, tensor<2x2x50xi32>, tensor<2x2x50xf32>, tensor<?x2x13x11xi32>, tensor<2x2x13xi32>) -> tensor<2x4x50x8xbf16>
  return %o : tensor<2x4x50x8xbf16>
}

// Training's pair in block form: a block selection with a dynamic N (the
// `queries` operand), block attention with its log-sum-exp, and the
// backward given both.
// CHECK-LABEL: func.func @block_pair
// CHECK: %[[S0:.*]], %[[S1:.*]], %[[S2:.*]], %[[S3:.*]], %[[S4:.*]] = sparsek.block_select %{{.*}} queries = %{{.*}} k = 4, window = 2, block_size = 4 : (tensor<1x2x?xf32>, index) -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x7xi32>, tensor<1x2x?xi32>)
// CHECK: %[[O:.*]], %[[L:.*]] = sparsek.block_attention {{.*}} window = 2, block_size = 4 {gate = #sparsek.gate<v>} : {{.*}} -> (tensor<1x4x?x8xbf16>, tensor<1x4x?xf32>)
// CHECK: sparsek.block_attention_backward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[O]], %{{.*}}, %[[L]], %[[S0]], %[[S1]], %[[S2]], %[[S3]], %[[S4]] k = 4, window = 2, block_size = 4 {gate = #sparsek.gate<v>}
// GENERIC-LABEL: sym_name = "block_pair"
// GENERIC: "sparsek.block_select"(%{{.*}}, %{{.*}}) <{block_size = 4 : i64, k = 4 : i64, window = 2 : i64}>
// GENERIC: "sparsek.block_attention_backward"({{.*}}) <{block_size = 4 : i64, gate = #sparsek.gate<v>, k = 4 : i64, window = 2 : i64}>
func.func @block_pair(%q: tensor<1x4x?x16xbf16>, %k: tensor<1x2x?x16xbf16>, %v: tensor<1x2x?x8xbf16>,
                      %u: tensor<1x2x?xf32>, %g: tensor<1x4x?x8xbf16>)
    -> (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x8xbf16>, tensor<1x2x?xf32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<1x4x?x16xbf16>
  %s:5 = "sparsek.block_select"(%u, %n) {k = 4 : i64, window = 2 : i64, block_size = 4 : i64}
      : (tensor<1x2x?xf32>, index) -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x7xi32>, tensor<1x2x?xi32>)
  %o:2 = "sparsek.block_attention"(%q, %k, %v, %u, %s#0, %s#1, %s#2, %s#3, %s#4) {window = 2 : i64, block_size = 4 : i64, gate = #sparsek.gate<v>}
      : (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x8xbf16>, tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x7xi32>, tensor<1x2x?xi32>)
        -> (tensor<1x4x?x8xbf16>, tensor<1x4x?xf32>)
  %dq, %dk, %dv, %du = "sparsek.block_attention_backward"(%q, %k, %v, %u, %o#0, %g, %o#1, %s#0, %s#1, %s#2, %s#3, %s#4)
      {k = 4 : i64, window = 2 : i64, block_size = 4 : i64, gate = #sparsek.gate<v>}
      : (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x8xbf16>, tensor<1x2x?xf32>, tensor<1x4x?x8xbf16>, tensor<1x4x?x8xbf16>, tensor<1x4x?xf32>,
         tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x7xi32>, tensor<1x2x?xi32>)
        -> (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x8xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x8xbf16>, tensor<1x2x?xf32>
}

// CHECK-LABEL: func.func @attention_backward
// CHECK: sparsek.attention_backward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} k = 4, window = 2 {gate = #sparsek.gate<v>}
func.func @attention_backward(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x8xbf16>,
                              %u: tensor<1x2x8xf32>, %o: tensor<1x4x8x8xbf16>, %g: tensor<1x4x8x8xbf16>)
    -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>) {
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g) {k = 4 : i64, window = 2 : i64, gate = #sparsek.gate<v>}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>, tensor<1x4x8x8xbf16>, tensor<1x4x8x8xbf16>)
        -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
  return %dq, %dk, %dv, %du : tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>
}

// The forward's log-sum-exp: a second result of the layer, an operand of
// its backward (here the deterministic one).
// CHECK-LABEL: func.func @attention_lse
// CHECK: %[[O:.*]], %[[LSE:.*]] = sparsek.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} k = 4, window = 2 : {{.*}} -> (tensor<1x4x8x8xbf16>, tensor<1x4x8xf32>)
// CHECK: sparsek.attention_backward %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[O]], %{{.*}} lse %[[LSE]] k = 4, window = 2 {deterministic} :
func.func @attention_lse(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x8xbf16>,
                         %u: tensor<1x2x8xf32>, %g: tensor<1x4x8x8xbf16>)
    -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>) {
  %o, %lse = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 2 : i64}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
        -> (tensor<1x4x8x8xbf16>, tensor<1x4x8xf32>)
  %dq, %dk, %dv, %du = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %g, %lse) {k = 4 : i64, window = 2 : i64, deterministic}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>, tensor<1x4x8x8xbf16>, tensor<1x4x8x8xbf16>, tensor<1x4x8xf32>)
        -> (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>)
  return %dq, %dk, %dv, %du : tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8xf32>
}
