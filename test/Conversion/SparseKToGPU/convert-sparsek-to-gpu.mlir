// convert-sparsek-to-gpu: the layers and block attentions the tensor-core
// kernel covers become a call of the kernel's stub on buffers; the others
// are left for convert-sparsek-to-linalg.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// The stubs expand into the kernel's gpu.launch after bufferization:
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// The whole GPU pipeline: the kernel's PTX has tensor-core MMAs, ldmatrix
// (plain and transposed) and cp.async with zero fill, and ptxas accepts it.
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=OPS

// Hq / Hkv = 4: four heads per block (two pairs of heads per warp), so the
// block holds 128 / 4 = 32 queries and the selection is built for blocks
// of 32. The tuning table's line for this shape (sm_90, bf16, k 256, w 512)
// gives key tiles of 64 and ping-pong: three stages of 33.5 KiB, in
// dynamic shared memory.
// CHECK-LABEL: func.func @layer_bf16
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<1x8x?x128xbf16>
// CHECK: scf.forall
// CHECK: call @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk64_w512_kv_s3db504f3_pp(
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: func.func private @sparsek_block_attention_bf16_d128_dv128_bq32_h4_bk64_w512_kv_s3db504f3_pp(memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-SAME: sparsek.kernel = {block_q = 32 : i64, d = 128 : i64, dv = 128 : i64, elem = bf16, gate = #sparsek.gate<kv>, heads = 4 : i64, key_tile = 64 : i64, kind = "block_attention", ping_pong = true, scale = 0.088388347648318{{[0-9]*}} : f64, window = 512 : i64}
// LAUNCH-LABEL: func.func @layer_bf16
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) dynamic_shared_memory_size %c100736_i32
// LAUNCH: gpu.dynamic_shared_memory
// LAUNCH: memref.view {{.*}} to memref<3x64x128xbf16, #gpu.address_space<workgroup>>
// LAUNCH: memref.view {{.*}} to memref<3x64x128xbf16, #gpu.address_space<workgroup>>
// LAUNCH: memref.view {{.*}} to memref<3x64xi64, #gpu.address_space<workgroup>>
// LAUNCH: memref.view {{.*}} to memref<3x64xf32, #gpu.address_space<workgroup>>
// LAUNCH: nvgpu.device_async_copy
// LAUNCH: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// LAUNCH: nvvm.mma.sync
// LAUNCH: gpu.shuffle xor
// LAUNCH: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// LAUNCH-NOT: call @sparsek_block_attention
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: cp.async.cg.shared.global
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// The softmax and weights in single instructions (no compare-and-select
// expansions): max/min, ex2 with flush to zero, paired bf16 rounding.
// OPS-DAG: max.f32
// OPS-DAG: min.f32
// OPS-DAG: ex2.approx.ftz.f32
// OPS-DAG: cvt.rn.bf16x2.f32
func.func @layer_bf16(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                      %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 256, window = 512
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

// -----

// f16 with Dv = 64 and the logit gate: covered; a block attention keeps its
// own block size (64 queries: Hq / Hkv = 2 heads per block fill 128 rows).
// The catch-all tuning line: key tiles of 32, all warps in step, two
// stages in static shared memory (33.5 KiB for D 128 and Dv 64: 24.75).
// CHECK-LABEL: func.func @block_f16
// CHECK: call @sparsek_block_attention_f16_d128_dv64_bq64_h2_bk32_w16_logit_s3f000000(
// LAUNCH-DAG: memref.global "private" @sparsek_block_attention_f16_d128_dv64_bq64_h2_bk32_w16_logit_s3f000000_k : memref<2x32x128xf16, #gpu.address_space<workgroup>> {alignment = 128 : i64}
// LAUNCH-DAG: memref.global "private" @sparsek_block_attention_f16_d128_dv64_bq64_h2_bk32_w16_logit_s3f000000_key : memref<2x32xi64, #gpu.address_space<workgroup>> {alignment = 128 : i64}
// LAUNCH-LABEL: func.func @block_f16
// LAUNCH: gpu.launch
// LAUNCH-NOT: dynamic_shared_memory_size
// LAUNCH: memref.get_global @sparsek_block_attention_f16_d128_dv64_bq64_h2_bk32_w16_logit_s3f000000_k : memref<2x32x128xf16, #gpu.address_space<workgroup>>
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
func.func @block_f16(%q: tensor<2x4x100x128xf16>, %k: tensor<2x2x100x128xf16>,
                     %v: tensor<2x2x100x64xf16>, %u: tensor<2x2x100xf32>,
                     %ks: tensor<2x2x100xf32>, %ki: tensor<2x2x100xi32>,
                     %t: tensor<2x2x100xf32>, %un: tensor<2x2x2x71xi32>,
                     %c: tensor<2x2x2xi32>) -> tensor<2x4x100x64xf16> {
  %o = sparsek.block_attention %q, %k, %v, %u, %ks, %ki, %t, %un, %c
         window = 16, block_size = 64 {gate = #sparsek.gate<logit>, scale = 0.5 : f64}
       : (tensor<2x4x100x128xf16>, tensor<2x2x100x128xf16>, tensor<2x2x100x64xf16>,
          tensor<2x2x100xf32>, tensor<2x2x100xf32>, tensor<2x2x100xi32>,
          tensor<2x2x100xf32>, tensor<2x2x2x71xi32>, tensor<2x2x2xi32>)
       -> tensor<2x4x100x64xf16>
  return %o : tensor<2x4x100x64xf16>
}

// -----

// Left alone: f32 (no f32 tensor-core path), D = 32, a block size that is
// not a multiple of 16, and non-causal layers.
// CHECK-LABEL: func.func @not_covered
// CHECK-COUNT-3: sparsek.attention
// CHECK: sparsek.block_attention
// CHECK-NOT: call @sparsek_block_attention
func.func @not_covered(%q32: tensor<1x2x64x64xf32>, %u: tensor<1x2x64xf32>,
                       %q: tensor<1x2x64x32xbf16>, %qn: tensor<1x2x64x64xbf16>,
                       %ks: tensor<1x2x64xf32>, %ki: tensor<1x2x64xi32>,
                       %un: tensor<1x2x7x16xi32>, %c: tensor<1x2x7xi32>) {
  %a = sparsek.attention %q32, %q32, %q32, %u k = 4, window = 8
       : (tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64xf32>) -> tensor<1x2x64x64xf32>
  %b = sparsek.attention %q, %q, %q, %u k = 4, window = 8
       : (tensor<1x2x64x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64x32xbf16>, tensor<1x2x64xf32>) -> tensor<1x2x64x32xbf16>
  %n = sparsek.attention %qn, %qn, %qn, %u k = 4, window = 0 {causal = false}
       : (tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64xf32>) -> tensor<1x2x64x64xbf16>
  %o = sparsek.block_attention %qn, %qn, %qn, %u, %ks, %ki, %ks, %un, %c
         window = 8, block_size = 10
       : (tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>,
          tensor<1x2x64xf32>, tensor<1x2x64xf32>, tensor<1x2x64xi32>,
          tensor<1x2x64xf32>, tensor<1x2x7x16xi32>, tensor<1x2x7xi32>)
       -> tensor<1x2x64x64xbf16>
  return
}

// -----

// Dynamic head dims and group size: per layout (4 heads per block of 32
// queries when 4 divides Hq / Hkv, else 1 head of 128; the 2-head layout
// is kept for static group sizes) its own
// selection, then one kernel per covered (D, Dv) pair, chosen at run time;
// any other pair takes the scalar block attention on the same selection,
// written into the same buffer.
// CHECK-LABEL: func.func @dynamic_head_dims
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x?x?x?xf16>
// CHECK: %[[REM4:.*]] = arith.remui
// CHECK: %[[DIV4:.*]] = arith.cmpi eq, %[[REM4]]
// CHECK: scf.if %[[DIV4]] {
// CHECK: scf.forall
// CHECK: scf.if
// CHECK: call @sparsek_block_attention_f16_d128_dv128_bq32_h4_bk32_w4_none_s3db504f3(
// CHECK: } else {
// CHECK: scf.if
// CHECK: call @sparsek_block_attention_f16_d64_dv64_bq32_h4_bk32_w4_none_s3e000000(
// CHECK: call @sparsek_block_attention_f16_d128_dv64_bq32_h4_bk32_w4_none_s3db504f3(
// CHECK: call @sparsek_block_attention_f16_d64_dv128_bq32_h4_bk32_w4_none_s3e000000(
// CHECK: } else {
// CHECK: %[[FB:.*]] = sparsek.block_attention {{.*}} window = 4, block_size = 32 {gate = #sparsek.gate<none>}
// CHECK: bufferization.materialize_in_destination %[[FB]] in writable %[[OUT]]
// CHECK: } else {
// CHECK-NOT: _h2_
// CHECK: call @sparsek_block_attention_f16_d128_dv128_bq128_h1_bk32_w4_none_s3db504f3(
// CHECK: block_size = 128
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @dynamic_head_dims(%q: tensor<?x?x?x?xf16>, %k: tensor<?x?x?x?xf16>,
                             %v: tensor<?x?x?x?xf16>, %u: tensor<?x?x?xf32>)
    -> tensor<?x?x?x?xf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 8, window = 4 {gate = #sparsek.gate<none>}
       : (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf16>
  return %o : tensor<?x?x?x?xf16>
}
