// convert-sparsek-to-gpu with the forward's log-sum-exp: a layer that
// returns it gets the kernel variant that writes it (stub suffix _lse, its
// last operand [B, Hq, N] f32), and a backward given it gets the backward
// kernel that reads it instead of a first sweep over the keys.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @forward_lse
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<1x8x?x64xbf16>
// CHECK: %[[LSE:.*]] = memref.alloc(%{{.*}}) : memref<1x8x?xf32>
// CHECK: %[[LSEC:.*]] = memref.cast %[[LSE]] : memref<1x8x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK: call @sparsek_block_attention_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse({{.*}}, %[[LSEC]])
// CHECK: %[[O:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK: %[[L:.*]] = bufferization.to_tensor %[[LSE]]
// CHECK: return %[[O]], %[[L]]
// CHECK: func.func private @sparsek_block_attention_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK-SAME: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-SAME: kind = "block_attention", lse = true
// LAUNCH-LABEL: func.func @forward_lse
// LAUNCH: gpu.launch blocks
// LAUNCH: math.log2
// LAUNCH: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// Through ptxas (format=isa): the kernels compile.
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @forward_lse(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                       %u: tensor<1x2x?xf32>) -> (tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>) {
  %o, %lse = sparsek.attention %q, %k, %v, %u k = 16, window = 8
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
  return %o, %lse : tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>
}

// -----

// CHECK-LABEL: func.func @backward_lse
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK: func.func private @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK-SAME: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-SAME: kind = "block_attention_backward", lse = true
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @backward_lse(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                        %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x64xbf16>, %g: tensor<1x8x?x64xbf16>,
                        %lse: tensor<1x8x?xf32>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g lse %lse k = 16, window = 8
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}

// -----

// A training step in one function: the backward over the same scores and
// queries reuses the forward's block selection (built once, before the
// forward's launch) and takes its log-sum-exp.
// CHECK-LABEL: func.func @train_step
// CHECK: scf.forall
// CHECK: call @sparsek_block_attention_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK-NOT: scf.forall
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK: return
func.func @train_step(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                      %u: tensor<1x2x?xf32>, %g: tensor<1x8x?x64xbf16>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %o, %lse = sparsek.attention %q, %k, %v, %u k = 16, window = 8
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g lse %lse k = 16, window = 8
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %o, %dq, %dk, %dv, %du : tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}
