// convert-sparsek-to-gpu on sparsek.attention_backward: the causal layer's
// gradients (f16/bf16, head dims 64/128) become the forward's block
// selection, one launch of the backward kernel (dq; dkey, dvalue, du's
// direct part and dtau into zeroed f32 buffers) and the threshold term's
// launches; the others are left for convert-sparsek-to-linalg.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=RED4
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa features=+ptx80" | FileCheck %s --check-prefix=SCALAR --implicit-check-not=red.global.add.v
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa chip=sm_80" | FileCheck %s --check-prefix=SCALAR --implicit-check-not=red.global.add.v

// CHECK-LABEL: func.func @backward_bf16
// CHECK: %[[DQ:.*]] = memref.alloc(%{{.*}}) : memref<1x8x?x64xbf16>
// CHECK: %[[DK:.*]] = memref.alloc(%{{.*}}) : memref<1x2x?x64xbf16>
// CHECK: %[[DV:.*]] = memref.alloc(%{{.*}}) : memref<1x2x?x64xbf16>
// CHECK: %[[DU:.*]] = memref.alloc(%{{.*}}) : memref<1x2x?xf32>
// CHECK: scf.forall
// CHECK: %[[DKACC:.*]] = memref.alloc(%{{.*}}) : memref<?x?x?x?xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[DKACC]] : memref<?x?x?x?xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[DU]] : memref<1x2x?xf32>)
// CHECK: call @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w5_kv_s3e000000(
// CHECK: linalg.fill ins(%{{.*}} : i32)
// CHECK: call @sparsek_threshold_term_w5(
// dkey and dvalue from the f32 accumulators into bf16: one narrow stub.
// CHECK: %[[DKC:.*]] = memref.cast %[[DK]] :
// CHECK: call @sparsek_narrow_f32_bf16(%{{.*}}, %[[DKC]])
// CHECK: %[[DVC:.*]] = memref.cast %[[DV]] :
// CHECK: call @sparsek_narrow_f32_bf16(%{{.*}}, %[[DVC]])
// CHECK: bufferization.to_tensor %[[DQ]] restrict writable
// CHECK: return
// CHECK: func.func private @sparsek_block_attention_backward_bf16_d64_dv64_bq32_h4_bk32_w5_kv_s3e000000(
// CHECK-SAME: kind = "block_attention_backward"
// CHECK: func.func private @sparsek_threshold_term_w5(
// CHECK-SAME: kind = "threshold_term", window = 5 : i64
// CHECK: func.func private @sparsek_narrow_f32_bf16(memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>)
// CHECK-SAME: elem = bf16, kind = "narrow"
// All of the backward kernel's shared memory is dynamic (over 48 KiB for
// D = 128; here D = 64: Q, dO, dS and P of 128 rows, K and V stages).
// LAUNCH-LABEL: func.func @backward_bf16
// LAUNCH: gpu.launch blocks
// LAUNCH-SAME: dynamic_shared_memory_size
// LAUNCH: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// LAUNCH: memref.view
// LAUNCH: nvvm.mma.sync
// LAUNCH: memref.atomic_rmw addf
// LAUNCH: memref.atomic_rmw addi
// The threshold term's scans: one block of 1024 threads per row, tiles of
// consecutive queries scanned by warp shuffles, the warps' totals through
// shared memory.
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c1024
// LAUNCH: memref.get_global @sparsek_threshold_term_counts : memref<32xi32
// LAUNCH: gpu.shuffle  up {{.*}} : i32
// LAUNCH: gpu.barrier
// LAUNCH: gpu.shuffle  up {{.*}} : f32
// LAUNCH: gpu.barrier
// The narrowing: rows of 8k elements as two 16-byte f32 loads, one
// llvm.fptrunc of 8 and a 16-byte store; others element by element.
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// LAUNCH: vector.load {{.*}} {alignment = 16 : i64} : memref<?xf32, strided<[1], offset: ?>>, vector<4xf32>
// LAUNCH: llvm.fptrunc {{.*}} : vector<8xf32> to vector<8xbf16>
// LAUNCH: vector.store {{.*}} {alignment = 16 : i64} : memref<?xbf16, strided<[1], offset: ?>>, vector<8xbf16>
// LAUNCH-NOT: {{ }}call @sparsek_
// The dynamic shared memory's base is the kernel's only shared variable.
// PTX: .shared .align 16 .b8 __dynamic_shmem__0;
// PTX-NOT: .shared .align
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX: atom.global.add.f32
// dkey and dvalue go to their f32 buffers by vector reductions of 4 floats
// (sm_90 with PTX ISA 8.1, the pipeline's default); with PTX 8.0 or for
// sm_80, by scalar atomics.
// RED4: .version 8.1
// RED4: red.global.add.v4.f32 [%rd{{[0-9]+}}], {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}};
// RED4: red.global.add.v4.f32
// SCALAR: atom.global.add.f32
func.func @backward_bf16(%q: tensor<1x8x?x64xbf16>, %k: tensor<1x2x?x64xbf16>,
                         %v: tensor<1x2x?x64xbf16>, %u: tensor<1x2x?xf32>,
                         %o: tensor<1x8x?x64xbf16>, %do: tensor<1x8x?x64xbf16>)
    -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %do) {k = 17 : i64, window = 5 : i64, scale = 0.125 : f64}
       : (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>)
         -> (tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %g#0, %g#1, %g#2, %g#3 : tensor<1x8x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}

// -----

// Not covered, left as they are: non-causal, f32.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-2: sparsek.attention_backward
// CHECK-NOT: call @sparsek_
func.func @left_alone(%q: tensor<1x2x16x64xbf16>, %k: tensor<1x2x16x64xbf16>, %u: tensor<1x2x16xf32>,
                      %qf: tensor<1x2x16x64xf32>, %kf: tensor<1x2x16x64xf32>)
    -> (tensor<1x2x16x64xbf16>, tensor<1x2x16x64xf32>) {
  %a:4 = "sparsek.attention_backward"(%q, %k, %k, %u, %q, %q) {k = 4 : i64, window = 0 : i64, causal = false}
       : (tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16xf32>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>)
         -> (tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16xf32>)
  %b:4 = "sparsek.attention_backward"(%qf, %kf, %kf, %u, %qf, %qf) {k = 4 : i64, window = 2 : i64}
       : (tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>)
         -> (tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16xf32>)
  return %a#0, %b#0 : tensor<1x2x16x64xbf16>, tensor<1x2x16x64xf32>
}

// -----

// Every dimension dynamic (the Python package's modules): the one-head
// layout (any group size) with its block selection, the kernel for D = Dv
// = 128 and for 64, and the linalg lowering for other head dims.
// CHECK-LABEL: func.func @backward_dynamic
// CHECK: scf.if
// CHECK: call @sparsek_block_attention_backward_f16_d128_dv128_bq128_h1_
// CHECK: call @sparsek_block_attention_backward_f16_d64_dv64_bq128_h1_
// CHECK: } else {
// CHECK: sparsek.attention_backward
// CHECK-NOT: call @sparsek_block_attention_backward_f16_d128_dv64
func.func @backward_dynamic(%q: tensor<?x?x?x?xf16>, %k: tensor<?x?x?x?xf16>,
                            %v: tensor<?x?x?x?xf16>, %u: tensor<?x?x?xf32>,
                            %o: tensor<?x?x?x?xf16>, %do: tensor<?x?x?x?xf16>)
    -> (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>) {
  %g:4 = "sparsek.attention_backward"(%q, %k, %v, %u, %o, %do) {k = 8 : i64, window = 16 : i64, gate = #sparsek.gate<logit>}
       : (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>)
         -> (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>)
  return %g#0, %g#1, %g#2, %g#3 : tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>, tensor<?x?x?xf32>
}
