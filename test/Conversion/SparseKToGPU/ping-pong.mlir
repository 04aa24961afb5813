// The forward tensor-core kernel's ping-pong schedule (AttentionKernel.h,
// docs/design/TensorCoreAttention.md): with eight warps, the second group
// of four runs the previous tile's softmax and P V before this tile's S.
// Per loop (window tiles, then union tiles) the kernel then holds S twice
// (one per group) and P V three times (each group's, and the second
// group's last tile after the loop): with key tiles of 64 and D = Dv = 128,
// 64 MMAs each, 2 x 5 x 64 = 640 mma.sync where all warps in step hold
// 5 x 64 = 320 (S and P V per loop, and the window loop's second P V, of
// its interior tiles without membership tests; 160 with key tiles of 32).
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=PP
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="ping-pong=0" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=STEP
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="ping-pong=0 key-tile=32" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=STEP32
// Four warps (block-size 64): no ping-pong whatever the table says.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="ping-pong=1 block-size=64" | FileCheck %s --check-prefix=FOUR
// ptxas takes the ping-pong kernel (three stages: 100.6 KB of dynamic
// shared memory, opted into at launch):
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="key-tile=64" | FileCheck %s --check-prefix=FIT
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s --check-prefix=BWD

// PP-LABEL: func.func @layer
// PP: gpu.launch {{.*}} dynamic_shared_memory_size %c100736_i32
// PP: %[[SECOND:.*]] = arith.cmpi uge, %{{.*}}, %c4{{.*}} : index
// PP: scf.for
// PP: gpu.barrier
// PP-NEXT: scf.if %[[SECOND]] -> (f32,
// PP-COUNT-640: nvvm.mma.sync
// PP-NOT: nvvm.mma.sync
// PP: {{^}}// -----
// STEP-LABEL: func.func @layer
// STEP: gpu.launch {{.*}} dynamic_shared_memory_size %c67200_i32
// STEP-COUNT-320: nvvm.mma.sync
// STEP-NOT: nvvm.mma.sync
// STEP: {{^}}// -----
// STEP32-LABEL: func.func @layer
// STEP32: memref.get_global @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk32_w512_kv_s3db504f3_k : memref<2x32x128xbf16
// STEP32-COUNT-160: nvvm.mma.sync
// STEP32-NOT: nvvm.mma.sync
// STEP32: {{^}}// -----
// FOUR: call @sparsek_block_attention_bf16_d128_dv128_bq16_h4_bk64_w512_kv_s3db504f3(
// PTX: .shared .align 16 .b8 __dynamic_shmem__0;
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @layer(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                 %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 256, window = 512
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

// -----

// Shared memory past 48 KiB is dynamic, up to 200 KiB: given key tiles of
// 64, the backward kernel keeps them (164 KiB at D = Dv = 128), while the
// deterministic backward's slots would take it past the limit, so its
// key tile shrinks to the largest that fits (32). Without the option the
// backward kernels take the table's backward-key-tile (none given: 32).
// FIT-LABEL: func.func @backward_fit
// FIT: call @sparsek_block_attention_backward_bf16_d128_dv128_bq32_h4_bk64_w8_kv_s3db504f3(
// FIT-LABEL: func.func @backward_det_fit
// FIT: call @sparsek_block_attention_backward_bf16_d128_dv128_bq32_h4_bk32_w8_kv_s3db504f3_det(
// BWD-LABEL: func.func @backward_fit
// BWD: call @sparsek_block_attention_backward_bf16_d128_dv128_bq32_h4_bk32_w8_kv_s3db504f3(
func.func @backward_fit(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>, %v: tensor<1x2x?x128xbf16>,
                        %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x128xbf16>, %g: tensor<1x8x?x128xbf16>)
    -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g k = 16, window = 8
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>
}
func.func @backward_det_fit(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>, %v: tensor<1x2x?x128xbf16>,
                        %u: tensor<1x2x?xf32>, %o: tensor<1x8x?x128xbf16>, %g: tensor<1x8x?x128xbf16>)
    -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) {
  %dq, %dk, %dv, %du = sparsek.attention_backward %q, %k, %v, %u, %o, %g k = 16, window = 8 {deterministic}
      : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>,
         tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>)
        -> (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>)
  return %dq, %dk, %dv, %du : tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>
}
