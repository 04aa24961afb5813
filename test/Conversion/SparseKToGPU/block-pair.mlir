// convert-sparsek-to-gpu for training's pair in block form: the forward
// (sparsek.block_select + sparsek.block_attention with its log-sum-exp)
// keeps its selection for the backward, and
// sparsek.block_attention_backward reads that selection: no block
// selection is built in the backward (no scf.forall before its launch),
// the kernel is the one attention_backward given lse uses.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @forward_blocks
// The block selection in parallel along the row, with the selection's
// GPU kernels (merge tiles), like a layer's.
// CHECK-NOT: sparsek.block_select
// CHECK: sparsek.kernel_call @sparsek_merge_tiles_keys(
// CHECK: sparsek.kernel_call @sparsek_merge_tiles_sums(
// CHECK: call @sparsek_block_attention_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK: return
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @forward_blocks(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                          %u: tensor<1x2x?xf32>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>,
        tensor<1x2x?x47xi32>, tensor<1x2x?xi32>) {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %q, %c2 : tensor<1x8x?x64xbf16>
  %s:5 = sparsek.block_select %u queries = %n k = 16, window = 8, block_size = 32
      : (tensor<1x2x?xf32>, index)
        -> (tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x47xi32>, tensor<1x2x?xi32>)
  %o, %lse = sparsek.block_attention %q, %k, %v, %u, %s#0, %s#1, %s#2, %s#3, %s#4 window = 8, block_size = 32
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x2x?xf32>, tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x47xi32>, tensor<1x2x?xi32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>)
  return %o, %lse, %s#0, %s#1, %s#2, %s#3, %s#4 : tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>, tensor<1x2x?xf32>,
      tensor<1x2x?xi32>, tensor<1x2x?xf32>, tensor<1x2x?x47xi32>, tensor<1x2x?xi32>
}

// -----

// CHECK-LABEL: func.func @backward_blocks
// CHECK-NOT: scf.forall
// CHECK-NOT: sparsek.block_select
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: call @sparsek_threshold_term_w8(
// CHECK: call @sparsek_narrow_f32_bf16(
// CHECK: return
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @backward_blocks(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>,
                           %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x64xbf16>, %g: tensor<1x8x?x64xbf16>,
                           %lse: tensor<1x8x?xf32>, %s0: tensor<1x2x?xf32>, %s1: tensor<1x2x?xi32>,
                           %s2: tensor<1x2x?xf32>, %s3: tensor<1x2x?x47xi32>, %s4: tensor<1x2x?xi32>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.block_attention_backward %q, %k, %v, %u, %o, %g, %lse, %s0, %s1, %s2, %s3, %s4
      k = 16, window = 8, block_size = 32
      : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?xi32>,
         tensor<1x2x?xf32>, tensor<1x2x?x47xi32>, tensor<1x2x?xi32>)
        -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}

// -----

// A dynamic group size: the block size (32) asks for the four-head layout,
// chosen at run time when Hq / Hkv divides by 4, else the one-head layout
// with blocks of 32 queries.
// CHECK-LABEL: func.func @backward_blocks_dynamic_group
// CHECK-NOT: scf.forall
// CHECK: scf.if
// CHECK: func.call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w8_kv_s3e000000_lse(
// CHECK: } else {
// CHECK: func.call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h1_bk32_w8_kv_s3e000000_lse(
func.func @backward_blocks_dynamic_group(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>,
                           %u: tensor<?x?x?xf32>, %o: tensor<?x?x?x64xbf16>, %g: tensor<?x?x?x64xbf16>,
                           %lse: tensor<?x?x?xf32>, %s0: tensor<?x?x?xf32>, %s1: tensor<?x?x?xi32>,
                           %s2: tensor<?x?x?xf32>, %s3: tensor<?x?x?x?xi32>, %s4: tensor<?x?x?xi32>)
    -> (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.block_attention_backward %q, %k, %v, %u, %o, %g, %lse, %s0, %s1, %s2, %s3, %s4
      k = 16, window = 8, block_size = 32
      : (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>,
         tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xi32>,
         tensor<?x?x?xf32>, tensor<?x?x?x?xi32>, tensor<?x?x?xi32>)
        -> (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>)
  return %dq, %dk, %dv, %du : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?xf32>
}
