// block_select's unions on the GPU (UnionBlocksKernel.cpp): only the sample
// blocks (every unionSampleStride(k, block_q) = 2k / block_q = 16th at
// k = 256, block_q = 32) walk W2 for their first query's selection, in a
// forall over (sample, entry < k); a kernel_call of a union_blocks stub
// fills in every other entry and the counts. No forall over every
// (block, entry) is left.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// The stub's call on memrefs becomes one launch: 256 threads per (batch,
// head, query block), the block's list compacted in chunks of 1024 by warp
// ballots, popc and the warps' counts in shared memory.
// RUN: sparsek-opt %s -split-input-file --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// Through the whole GPU pipeline (ptxas runs in
// Integration/GPU/nvvm-pipeline.mlir).
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX
// With parallel-selection=0 the sweeps: no kernel.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="parallel-selection=0" | FileCheck %s --check-prefix=SWEEP

// CHECK-LABEL: func.func @layer
// CHECK: %[[NS:.*]] = arith.ceildivui %{{.*}}, %c16{{.*}} : index
// CHECK: %[[F:.*]] = arith.muli %[[NS]], %c256{{.*}} : index
// CHECK: %[[S:.*]] = scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%[[F]], 2, 1) shared_outs({{.*}}) -> (tensor<1x2x?x287xi32>)
// CHECK-NOT: scf.forall (
// CHECK: sparsek.kernel_call @sparsek_union_blocks_k256_w512_b32({{.*}} : tensor<?x?x?xi32>, tensor<?x?x?xi32>) into(%[[S]], %{{.*}} : tensor<1x2x?x287xi32>, tensor<1x2x?xi32>)
// CHECK: call @sparsek_block_attention_
// CHECK: func.func private @sparsek_union_blocks_k256_w512_b32({{.*}}) attributes {sparsek.kernel = {block_q = 32 : i64, k = 256 : i64, kind = "union_blocks", window = 512 : i64}}
// PTX: .shared .align 16 .b8 sparsek_union_warp_counts[128];
// PTX: vote.sync.ballot.b32
// PTX: popc.b32
// PTX: bar.sync
// SWEEP-LABEL: func.func @layer
// SWEEP-NOT: union_blocks
// SWEEP: return
func.func @layer(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                 %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 256, window = 512
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

// -----

// The standalone block_select takes the same kernel; k = 4 with blocks of
// 16 queries: stride max(1, 8 / 16) = 1, every block a sample.
// CHECK-LABEL: func.func @block_select
// CHECK: arith.ceildivui %{{.*}}, %c1{{.*}} : index
// CHECK: sparsek.kernel_call @sparsek_union_blocks_k4_w2_b16(
// CHECK: func.func private @sparsek_union_blocks_k4_w2_b16(
// SWEEP-LABEL: func.func @block_select
// SWEEP-NOT: union_blocks
// SWEEP: return
func.func @block_select(%u: tensor<1x2x300xf32>)
    -> (tensor<1x2x300xf32>, tensor<1x2x300xi32>, tensor<1x2x300xf32>,
        tensor<1x2x19x19xi32>, tensor<1x2x19xi32>) {
  %r:5 = sparsek.block_select %u k = 4, window = 2, block_size = 16
       : (tensor<1x2x300xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300xi32>, tensor<1x2x300xf32>, tensor<1x2x19x19xi32>, tensor<1x2x19xi32>)
  return %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<1x2x300xf32>, tensor<1x2x300xi32>, tensor<1x2x300xf32>, tensor<1x2x19x19xi32>, tensor<1x2x19xi32>
}

// -----

// LAUNCH-DAG: memref.global "private" @sparsek_union_warp_counts : memref<32xi32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// LAUNCH-LABEL: func.func @unions
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// One loop over the block's list (its sample's first selection, then the
// keys arrived since), chunks of 4 x 256 entries: every thread's four
// entries' loads first (a key of the sample's list, the kth rank of a
// newcomer's query, the key's rank), then four ballots, one barrier, the
// passing keys stored in order, a barrier; then -1 up to the width.
// LAUNCH: scf.for %{{.*}} = %c0{{.*}} to %{{.*}} step %c1024
// LAUNCH-COUNT-4: memref.load %arg2[
// LAUNCH-COUNT-4: memref.load %arg0[
// LAUNCH-COUNT-4: memref.load %arg1[
// LAUNCH: nvvm.vote.sync  ballot
// LAUNCH: math.ctpop
// LAUNCH-COUNT-3: nvvm.vote.sync  ballot
// LAUNCH: gpu.barrier
// LAUNCH-COUNT-4: memref.store %{{.*}}, %arg2[
// LAUNCH: gpu.barrier
// LAUNCH: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c256
// LAUNCH: memref.store %c-1_i32, %arg2[
// LAUNCH: memref.store %{{.*}}, %arg3[
// LAUNCH-NOT: call @sparsek_union_blocks
func.func private @sparsek_union_blocks_k8_w4_b16(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?x?xi32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {block_q = 16 : i64, k = 8 : i64, kind = "union_blocks", window = 4 : i64}}
func.func @unions(%kth: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, %rank: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>,
                  %keys: memref<?x?x?x?xi32, strided<[?, ?, ?, ?], offset: ?>>, %count: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) {
  call @sparsek_union_blocks_k8_w4_b16(%kth, %rank, %keys, %count) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?x?xi32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>) -> ()
  return
}
