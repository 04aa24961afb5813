// convert-sparsek-to-gpu for `sparsek.attention_backward {deterministic}`:
// the slot numbering (integer atomics only), the backward kernel variant
// that walks a chunk of query blocks and writes its partial sums into
// scratch slots (stub suffix _det; no floating-point atomics), the
// fixed-order sums into dkey, dvalue, du and dtau, then du's threshold
// term. No f32 accumulators, no narrowing launches.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @backward_det
// CHECK: linalg.fill ins(%{{.*}} : i32) outs(%[[FIRST:.*]] : memref<?x?x?xi32>)
// CHECK: linalg.fill ins(%{{.*}} : i32) outs(%[[LAST:.*]] : memref<?x?x?xi32>)
// CHECK: call @sparsek_deterministic_slots_bq32_w8(
// CHECK: %[[SCRATCH:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_det(
// CHECK: call @sparsek_deterministic_reduce_bf16(
// CHECK: call @sparsek_threshold_term_w8(
// CHECK-NOT: call @sparsek_narrow
// CHECK: return
// CHECK: func.func private @sparsek_deterministic_slots_bq32_w8(
// CHECK-SAME: index, index)
// CHECK-SAME: kind = "deterministic_slots"
// CHECK: func.func private @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_det(
// CHECK-SAME: memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?x?xi32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, index)
// CHECK-SAME: deterministic = true
// CHECK-SAME: kind = "block_attention_backward"
// CHECK: func.func private @sparsek_deterministic_reduce_bf16(
// CHECK-SAME: kind = "deterministic_reduce"
// The launches: integer min/max for the slots, no floating-point atomics
// anywhere before the threshold term's integer histogram.
// LAUNCH-LABEL: func.func @backward_det
// LAUNCH: memref.atomic_rmw mins
// LAUNCH: memref.atomic_rmw maxs
// LAUNCH-NOT: atomic_rmw addf
// LAUNCH-NOT: red.global
// LAUNCH: scf.for
// LAUNCH: gpu.barrier
// LAUNCH: nvvm.mma.sync
// LAUNCH-NOT: atomic_rmw addf
// LAUNCH-NOT: red.global
// LAUNCH: memref.atomic_rmw addi
// Through ptxas (format=isa): the kernels compile.
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @backward_det(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                        %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x64xbf16>, %g: tensor<1x8x?x64xbf16>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g k = 16, window = 8 {deterministic}
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}

// -----

// Given the forward's log-sum-exp: the _lse_det variant, lse last.
// CHECK-LABEL: func.func @backward_lse_det
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse_det(
// CHECK-SAME: index, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @backward_lse_det(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                            %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x64xbf16>, %g: tensor<1x8x?x64xbf16>,
                            %lse: tensor<1x8x?xf32>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g lse %lse k = 16, window = 8 {deterministic}
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}
