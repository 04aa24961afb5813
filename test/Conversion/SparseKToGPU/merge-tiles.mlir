// The parallel selection's merge-tile kernels (MergeTileKernel.cpp): a
// causal layer's block selection builds both trees' levels 1..5 through a
// kernel_call of a merge_tiles stub (W2: f32 sort keys; W1: f64 fractional
// sums), the rounds above as foralls.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// After bufferization the stub's call expands into one launch: a block of
// 1024 threads per (batch, head, tile of 1024 positions), the tile in
// shared memory, per level a search phase, a barrier, the level written in
// place with its counts staged by destination, a barrier, and the counts
// stored to global memory in position order.
// RUN: sparsek-opt %s -split-input-file --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// The kernels through the whole GPU pipeline (ptxas runs in
// Integration/GPU/nvvm-pipeline.mlir): shared tiles of 1024 tags, keys or
// sums and the staged counts; 48 KiB at most (static shared memory).
// RUN: sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @layer
// CHECK: sparsek.kernel_call @sparsek_merge_tiles_keys({{.*}} : tensor<?x?x?xi32>, tensor<?x?x?xf32>) into({{.*}} : tensor<?x?x?xi32>, tensor<?x?x?xf32>, tensor<?x?x?x?x3xi32>)
// The rounds above the tiles: a loop over pairs of foralls.
// CHECK: scf.for
// CHECK: scf.forall
// CHECK: sparsek.kernel_call @sparsek_merge_tiles_sums({{.*}} : tensor<?x?x?xi32>, tensor<?x?x?xf64>) into({{.*}} : tensor<?x?x?xi32>, tensor<?x?x?xf64>, tensor<?x?x?x?x3xi32>, tensor<?x?x?x?x3xf64>)
// CHECK: func.func private @sparsek_merge_tiles_keys({{.*}}) attributes {sparsek.kernel = {kind = "merge_tiles", sums = false}}
// CHECK: func.func private @sparsek_merge_tiles_sums({{.*}}) attributes {sparsek.kernel = {kind = "merge_tiles", sums = true}}
// PTX-DAG: .shared .align 16 .b8 sparsek_merge_tile_tags[4096];
// PTX-DAG: .shared .align 16 .b8 sparsek_merge_tile_keys[4096];
// PTX-DAG: .shared .align 16 .b8 sparsek_merge_tile_sums[8192];
// PTX-DAG: .shared .align 16 .b8 sparsek_merge_tile_zb[12288];
// PTX-DAG: .shared .align 16 .b8 sparsek_merge_tile_fz[24576];
// PTX-DAG: .maxntid 1024, 1, 1
func.func @layer(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x2x?x128xbf16>,
                 %v: tensor<1x2x?x128xbf16>, %u: tensor<1x2x?xf32>)
    -> tensor<1x8x?x128xbf16> {
  %o = sparsek.attention %q, %k, %v, %u k = 256, window = 512
       : (tensor<1x8x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?xf32>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

// -----

// The standalone selection ops take the same kernels (with
// parallel-selection=0, the linalg lowering's sweeps: no tiles).
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="parallel-selection=0" | FileCheck %s --check-prefix=SWEEP
// CHECK-LABEL: func.func @standalone
// CHECK-NOT: sparsek.threshold
// CHECK-COUNT-2: sparsek.kernel_call @sparsek_merge_tiles_{{keys|sums}}(
// CHECK-NOT: sparsek.topk
// CHECK-COUNT-2: sparsek.kernel_call @sparsek_merge_tiles_{{keys|sums}}(
// CHECK: return
// SWEEP-LABEL: func.func @standalone
// SWEEP-NOT: kernel_call
// SWEEP: sparsek.threshold
// SWEEP: sparsek.topk
func.func @standalone(%u: tensor<1x2x300xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300x4xi32>) {
  %t = sparsek.threshold %u k = 4, window = 2 : (tensor<1x2x300xf32>) -> tensor<1x2x300xf32>
  %i = sparsek.topk %u k = 4, window = 2 : (tensor<1x2x300xf32>) -> tensor<1x2x300x4xi32>
  return %t, %i : tensor<1x2x300xf32>, tensor<1x2x300x4xi32>
}

// -----

// W1's tiles: the stub's call on memrefs becomes the launch.
// LAUNCH-DAG: memref.global "private" @sparsek_merge_tile_tags : memref<1024xi32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// LAUNCH-DAG: memref.global "private" @sparsek_merge_tile_sums : memref<1024xf64, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// LAUNCH-DAG: memref.global "private" @sparsek_merge_tile_zb : memref<3072xi32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// LAUNCH-DAG: memref.global "private" @sparsek_merge_tile_fz : memref<3072xf64, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// LAUNCH-LABEL: func.func @sums
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c1024
// LAUNCH: memref.get_global @sparsek_merge_tile_tags
// LAUNCH: gpu.barrier
// Level 1: one halving per search (children of one entry); its three
// searches read the shared tags.
// LAUNCH: scf.for %{{.*}} = %c0{{.*}} to %c1{{.*}} step
// LAUNCH-COUNT-3: memref.load %{{.*}}[%{{.*}}] : memref<1024xi32, #gpu.address_space<workgroup>>
// LAUNCH: arith.addf {{.*}} : f64
// LAUNCH: gpu.barrier
// LAUNCH: memref.store {{.*}} : memref<3072xf64, #gpu.address_space<workgroup>>
// LAUNCH: gpu.barrier
// LAUNCH: memref.store {{.*}} : memref<?x?x?x?x?xi32, strided<[?, ?, ?, ?, ?], offset: ?>>
// LAUNCH: memref.store {{.*}} : memref<?x?x?x?x?xf64, strided<[?, ?, ?, ?, ?], offset: ?>>
// Level 5: children of 256 entries, 9 halvings.
// LAUNCH: scf.for %{{.*}} = %c0{{.*}} to %c9{{.*}} step
// LAUNCH-NOT: call @sparsek_merge_tiles
func.func private @sparsek_merge_tiles_sums(memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>, memref<?x?x?x?x?xi32, strided<[?, ?, ?, ?, ?], offset: ?>>, memref<?x?x?x?x?xf64, strided<[?, ?, ?, ?, ?], offset: ?>>) attributes {sparsek.kernel = {kind = "merge_tiles", sums = true}}
func.func @sums(%t: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, %s: memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>,
                %to: memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, %so: memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>,
                %zb: memref<?x?x?x?x?xi32, strided<[?, ?, ?, ?, ?], offset: ?>>, %fz: memref<?x?x?x?x?xf64, strided<[?, ?, ?, ?, ?], offset: ?>>) {
  call @sparsek_merge_tiles_sums(%t, %s, %to, %so, %zb, %fz) : (memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf64, strided<[?, ?, ?], offset: ?>>, memref<?x?x?x?x?xi32, strided<[?, ?, ?, ?, ?], offset: ?>>, memref<?x?x?x?x?xf64, strided<[?, ?, ?, ?, ?], offset: ?>>) -> ()
  return
}
