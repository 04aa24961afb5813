// convert-sparsek-to-gpu on sparsek.decode_step: a step with static head
// dims the kernels cover (f16/bf16, D = Dv of 64 or 128) becomes a
// sparsek.kernel_call of the decode stub on the state's tensors (their
// results tied to the inits, plus a scratch of partial softmax states);
// one-shot bufferization keeps the state in place (a call on the inits'
// buffers, no copy); sparsek-expand-kernel-stubs emits the kernels'
// launches. Other steps keep the linalg lowering, which the GPU pipeline
// refuses (it is CPU-only: on the GPU it gave wrong
// outputs, bench/NOTES.md run 65), with a diagnostic naming what the kernels
// cover.
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu | FileCheck %s
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --convert-sparsek-to-linalg --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu --convert-sparsek-to-linalg --one-shot-bufferize="bufferize-function-boundaries" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=LAUNCH
// RUN: not sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa" 2>&1 | FileCheck %s --check-prefix=PTX
// The fused kernel's other schedules (the tuning table's decode
// parameters, here as options): both stages in flight before the update,
// and the lengths advanced by each sequence's last block (no launch of
// their own: four launches in all).
// RUN: sparsek-opt %s -split-input-file --convert-sparsek-to-gpu="decode-pre-issue=2 decode-fused-lengths=1" --convert-sparsek-to-linalg --one-shot-bufferize="bufferize-function-boundaries" --sparsek-expand-kernel-stubs | FileCheck %s --check-prefix=FUSED
// RUN: not sparsek-opt %s -split-input-file --sparsek-nvvm-pipeline="format=isa decode-pre-issue=2 decode-fused-lengths=1" 2>&1 | FileCheck %s --check-prefix=FUSED-PTX

// CHECK-LABEL: func.func @step_bf16
// CHECK: %[[P:.*]] = tensor.empty(%{{.*}}, %{{.*}}, %{{.*}}) : tensor<?x?x?x130xf32>
// CHECK: %[[R:.*]]:11 = sparsek.kernel_call @sparsek_decode_step_bf16_d128_k4_w8_kv_s{{.*}}(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : {{.*}}) into(%{{.*}}, %[[P]] : {{.*}})
// CHECK: return %[[R]]#0, %[[R]]#1
// CHECK: func.func private @sparsek_decode_step_bf16_d128_k4_w8_kv_s
// CHECK-SAME: kind = "decode_step"

// BUF-LABEL: func.func @step_bf16
// BUF-NOT: memref.copy
// BUF: call @sparsek_decode_step_bf16_d128_k4_w8_kv_s
// BUF-NOT: memref.copy
// BUF: return

// One split per row (large batches) on state rows of aligned contiguous
// elements: one launch per step does it all, a block of four warps per
// row, each warp its own split of the row's slots in tiles of 16, streamed
// into its swizzled shared stages by 16-byte cp.async (one tile in flight
// while one is computed), S = Q K^T and O += P V on tensor cores
// (ldmatrix, mma.sync; P in registers) with the online softmax between.
// Warps 1..3 compute window tiles the update cannot touch while warp 0
// updates the row (its selection scan's butterfly: shuffles); after a
// barrier, the other tiles, the rows the update rewrote copied again from
// global memory into the stages; the warps merge through shared memory
// and the block stores the output (1 / sum times its accumulator). A
// second launch advances the lengths.
// Otherwise the update (a warp per row), then the attention: the tile
// kernel, writing partials (state rows of aligned contiguous elements), or
// the warp-per-head kernel; then the combine, which advances the lengths.
// LAUNCH: memref.global "private" @sparsek_decode_heap_{{tags|keys}} : memref<2x2560x{{i32|f32}}, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// The tile kernels take key and value rows of 16-byte-aligned contiguous
// elements whose slot stride is below 2^26 elements (a tile's offsets in
// i32) and rows of fewer than 2^30 slots (the slot arithmetic in i32).
// LAUNCH-LABEL: func.func @step_bf16
// LAUNCH: memref.extract_aligned_pointer_as_index
// LAUNCH: %[[BOUND:.*]] = arith.constant 67108864 : index
// LAUNCH-NEXT: arith.cmpi ult, %{{.*}}#2, %[[BOUND]] : index
// LAUNCH: memref.extract_aligned_pointer_as_index
// LAUNCH: arith.cmpi ult, %{{.*}}#2, %{{.*}} : index
// LAUNCH: %[[SLOTS:.*]] = arith.constant 1073741824 : index
// LAUNCH-NEXT: arith.cmpi ult, %{{.*}}, %[[SLOTS]] : index
// LAUNCH: scf.if
// LAUNCH: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128{{.*}} dynamic_shared_memory_size %c66192_i32
// LAUNCH: gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// LAUNCH: memref.view {{.*}} to memref<4x2x16x128xbf16, #gpu.address_space<workgroup>>
// A whole tile of 16 slots is copied without row checks, each lane's
// offsets in the tile computed in i32 (zero-extended); a partial tile
// (past the row's end) checks each row and zero-fills.
// LAUNCH: arith.cmpi ule
// LAUNCH-NEXT: scf.if
// LAUNCH: arith.index_castui %{{.*}} : i32 to index
// LAUNCH-COUNT-16: nvgpu.device_async_copy {{.*}} {bypassL1} : memref<?xbf16, strided<[1], offset: ?>> to memref<4x2x16x128xbf16, #gpu.address_space<workgroup>>
// LAUNCH: } else {
// LAUNCH-COUNT-16: nvgpu.device_async_copy {{.*}} {bypassL1} : memref<?xbf16, strided<[1], offset: ?>> to memref<4x2x16x128xbf16, #gpu.address_space<workgroup>>
// LAUNCH: nvgpu.device_async_create_group
// The window tiles before the update's barrier: state (max, sum, O) only,
// their slots' validity from the new token's position (no loads).
// LAUNCH: scf.for {{.*}} -> ({{(f32, )+}}f32) {
// LAUNCH: nvvm.bar.warp.sync
// LAUNCH-COUNT-16: nvgpu.device_async_copy
// LAUNCH: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// LAUNCH-NOT: vector.store
// LAUNCH: nvvm.bar.warp.sync
// LAUNCH-COUNT-8: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// LAUNCH: llvm.intr.maxnum
// LAUNCH-COUNT-8: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// LAUNCH: scf.yield
// LAUNCH: gpu.shuffle xor
// LAUNCH: gpu.barrier
// After it: the positions and scores of a tile's selected slots are
// loaded a tile ahead (only for tiles below k) and carried in the loop.
// LAUNCH: scf.if {{.*}} -> (i32, i32, i32, i32, f32, f32, f32, f32) {
// LAUNCH: scf.for {{.*}} -> ({{(f32, )+}}i32, i32, i32, i32, f32, f32, f32, f32) {
// LAUNCH: scf.if {{.*}} -> (i32, i32, i32, i32, f32, f32, f32, f32) {
// LAUNCH: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// LAUNCH: vector.load {{.*}} : memref<?xbf16, strided<[1], offset: ?>>, vector<8xbf16>
// LAUNCH: vector.store {{.*}} : memref<4x2x16x128xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// LAUNCH: nvvm.bar.warp.sync
// LAUNCH-COUNT-8: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// LAUNCH-COUNT-8: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// LAUNCH: scf.yield
// LAUNCH: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// LAUNCH: gpu.barrier
// LAUNCH: gpu.barrier
// LAUNCH: arith.divf %{{.*}}, %{{.*}} : f32
// LAUNCH: arith.truncf %{{.*}} : f32 to bf16
// LAUNCH: memref.store %{{.*}} : memref<?x?x?x?xbf16
// LAUNCH: gpu.terminator
// LAUNCH: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128
// LAUNCH: memref.store %{{.*}} : memref<?xi32
// LAUNCH: gpu.terminator
// LAUNCH: } else {
// The update kernel: its sweep on shared-memory copies of the heaps
// (static workgroup globals: accessed through the zero-sized dynamic
// window, alias analysis would let the sift loops' loads pass their
// stores) when the candidate scores above the threshold: in by 4-byte
// cp.async issued before the selection's stores, lane 0's sweep after a
// warp barrier, each of its stores into a shared row followed by the same
// store into the state's row (write-through: nothing copied out);
// otherwise the sweep on the global heaps. It lets the attention's blocks
// be scheduled at once (programmatic dependent launch on sm_90+; the
// grid-dependency pass puts its own wait first).
// LAUNCH: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c32
// LAUNCH-NEXT: nvvm.griddepcontrol launch_dependents
// LAUNCH-NOT: gpu.dynamic_shared_memory
// LAUNCH: memref.get_global @sparsek_decode_heap_keys : memref<2x2560xf32, #gpu.address_space<workgroup>>
// LAUNCH: memref.get_global @sparsek_decode_heap_tags : memref<2x2560xi32, #gpu.address_space<workgroup>>
// LAUNCH: arith.cmpf ogt
// LAUNCH: scf.if
// LAUNCH-COUNT-4: nvgpu.device_async_copy {{.*}}, 1 : memref<?x{{.*}}, strided<[1], offset: ?>> to memref<?x{{.*}}, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
// LAUNCH: memref.store {{.*}} : memref<?x?x?x?xbf16
// LAUNCH: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// LAUNCH-NEXT: arith.constant -1
// LAUNCH-NEXT: nvvm.bar.warp.sync
// LAUNCH-NEXT: scf.if %{{.*}} {
// LAUNCH: memref.load {{.*}} : memref<?xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
// LAUNCH: memref.store [[V:%.*]], %{{.*}}[[[I:%.*]]] : memref<?xf32, strided<[1], offset: ?>, #gpu.address_space<workgroup>>
// LAUNCH-NEXT: memref.store [[V]], %{{.*}}[[[I]]] : memref<?xf32, strided<[?], offset: ?>>
// LAUNCH-NOT: gpu.shuffle
// LAUNCH: } else {
// LAUNCH: nvvm.prefetch level = L1
// LAUNCH: gpu.terminator
// The split tile kernel: each warp's window tiles but the new token's
// slot's first (nothing the update writes), the wait for the update
// kernel before the copy of its first other tile (in the prologue when it
// has no such window tile, else in the first loop's step before it), then
// the rest; no block barrier before the threshold's load; a last wait at
// the end (a no-op unless no head pass ran).
// LAUNCH: scf.if
// LAUNCH: gpu.launch {{.*}} dynamic_shared_memory_size %c66192_i32
// LAUNCH-NOT: gpu.launch
// LAUNCH: arith.cmpi ult, [[C1:%.*]], %c1{{.*}} : index
// LAUNCH-NEXT: scf.if
// LAUNCH-NEXT: nvvm.griddepcontrol wait
// LAUNCH: nvgpu.device_async_copy
// LAUNCH: scf.for {{.*}} -> ({{(f32, )+}}f32) {
// LAUNCH: nvvm.bar.warp.sync
// LAUNCH: arith.cmpi eq, %{{.*}}, [[C1]] : index
// LAUNCH-NEXT: scf.if
// LAUNCH-NEXT: nvvm.griddepcontrol wait
// LAUNCH-NOT: gpu.barrier
// LAUNCH: scf.for {{.*}} -> ({{(f32, )+}}i32, i32, i32, i32, f32, f32, f32, f32) {
// LAUNCH-NOT: griddepcontrol
// LAUNCH: memref.store %{{.*}} : memref<?x?x?x?xf32
// Every thread waits at least once, even with no head pass:
// LAUNCH: nvvm.griddepcontrol wait
// LAUNCH-NEXT: gpu.terminator
// LAUNCH: } else {
// LAUNCH: gpu.launch
// LAUNCH: gpu.launch
// LAUNCH-NOT: gpu.launch
// LAUNCH-NOT: call @sparsek_decode_step
// LAUNCH: return

// Each warp's two tiles (16 copies each) in flight before its first tile
// step; the update sets the overflow flag by an atomic or (bit 0 of
// counts[.., 2], whose upper bits count the sequence's arrived blocks);
// right after the update's barrier (every thread has read the length)
// one thread arrives (fence, atomic add of 2), its old word carried
// through the tile loop (the head passes' iteration value), and at the
// block's end the sequence's last arrival advances its length (fence,
// store) and clears the count.
// FUSED-LABEL: func.func @step_bf16
// FUSED: gpu.launch {{.*}} dynamic_shared_memory_size %c66192_i32
// FUSED: %[[PASSES:.*]] = scf.for {{.*}} iter_args(%[[CARRIED:.*]] = %c0_i32{{.*}}) -> (i32)
// FUSED-COUNT-16: nvgpu.device_async_copy
// FUSED: nvgpu.device_async_create_group
// FUSED-COUNT-16: nvgpu.device_async_copy
// FUSED: nvgpu.device_async_create_group
// FUSED: memref.atomic_rmw ori
// FUSED: gpu.barrier
// FUSED-NEXT: arith.andi
// FUSED-NEXT: %[[OLD:.*]] = scf.if %{{.*}} -> (i32) {
// FUSED-NEXT: nvvm.memory.barrier <gpu>
// FUSED: %[[ARRIVED:.*]] = memref.atomic_rmw addi %{{.*}}, %{{.*}} : (i32, memref<?x?x?xi32
// FUSED-NEXT: scf.yield %[[ARRIVED]] : i32
// FUSED-NEXT: } else {
// FUSED-NEXT: scf.yield %[[CARRIED]] : i32
// FUSED: scf.for
// FUSED: scf.yield %[[OLD]] : i32
// FUSED: arith.shrui %[[PASSES]]
// FUSED: arith.remui
// FUSED: scf.if
// FUSED-NEXT: nvvm.memory.barrier <gpu>
// FUSED: memref.store %{{.*}} : memref<?xi32
// FUSED: memref.atomic_rmw andi
// FUSED: gpu.terminator
// FUSED-NEXT: }
// FUSED-NEXT: } else {
// FUSED-PTX-LABEL: llvm.func @step_bf16
// FUSED-PTX-COUNT-4: gpu.launch_func
// FUSED-PTX-NOT: gpu.launch_func
// FUSED-PTX: gpu.binary @step_bf16_kernel
// FUSED-PTX-SAME: atom.global.add.u32

// PTX-LABEL: llvm.func @step_bf16
// (Five launches here: with one split per row known statically, the
// unfused tile kernel folds away.)
// PTX-COUNT-5: gpu.launch_func
// PTX: gpu.binary @step_bf16_kernel

func.func @step_bf16(%q: tensor<2x8x1x128xbf16>, %key: tensor<2x2x1x128xbf16>,
    %value: tensor<2x2x1x128xbf16>, %u: tensor<2x2x1xf32>,
    %o0: tensor<2x8x1x128xbf16>, %k0: tensor<2x2x12x128xbf16>,
    %v0: tensor<2x2x12x128xbf16>, %s0: tensor<2x2x12xf32>,
    %p0: tensor<2x2x12xi32>, %bs0: tensor<2x2x2x69xf32>,
    %bp0: tensor<2x2x2x69xi32>, %t0: tensor<2x2x3xf64>,
    %c0: tensor<2x2x3xi32>, %l0: tensor<2xi32>)
    -> (tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>) {
  %o, %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
    sparsek.decode_step %q, %key, %value, %u
      into %o0, %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0 k = 4, window = 8
      : tensor<2x8x1x128xbf16>, tensor<2x2x1x128xbf16>, tensor<2x2x1x128xbf16>,
        tensor<2x2x1xf32>
      into tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>,
        tensor<2x2x12x128xbf16>, tensor<2x2x12xf32>, tensor<2x2x12xi32>,
        tensor<2x2x2x69xf32>, tensor<2x2x2x69xi32>, tensor<2x2x3xf64>,
        tensor<2x2x3xi32>, tensor<2xi32>
  return %o, %keys : tensor<2x8x1x128xbf16>, tensor<2x2x12x128xbf16>
}

// -----

// f32 (and head dims other than 64/128): the linalg lowering's, refused by
// the GPU pipeline.
// PTX: error: sparsek.decode_step on the GPU needs f16 or bf16 elements and head dims D = Dv of 64 or 128
// CHECK-LABEL: func.func @step_f32
// CHECK-NOT: sparsek.kernel_call
// CHECK: sparsek.decode_step
func.func @step_f32(%q: tensor<1x2x1x16xf32>, %key: tensor<1x1x1x16xf32>,
    %value: tensor<1x1x1x16xf32>, %u: tensor<1x1x1xf32>,
    %o0: tensor<1x2x1x16xf32>, %k0: tensor<1x1x6x16xf32>,
    %v0: tensor<1x1x6x16xf32>, %s0: tensor<1x1x6xf32>,
    %p0: tensor<1x1x6xi32>, %bs0: tensor<1x1x2x9xf32>,
    %bp0: tensor<1x1x2x9xi32>, %t0: tensor<1x1x3xf64>,
    %c0: tensor<1x1x3xi32>, %l0: tensor<1xi32>) -> tensor<1x2x1x16xf32> {
  %r:10 = "sparsek.decode_step"(%q, %key, %value, %u, %o0, %k0, %v0, %s0, %p0,
      %bs0, %bp0, %t0, %c0, %l0) {k = 4 : i64, window = 2 : i64}
    : (tensor<1x2x1x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>,
       tensor<1x1x1xf32>, tensor<1x2x1x16xf32>, tensor<1x1x6x16xf32>,
       tensor<1x1x6x16xf32>, tensor<1x1x6xf32>, tensor<1x1x6xi32>,
       tensor<1x1x2x9xf32>, tensor<1x1x2x9xi32>, tensor<1x1x3xf64>,
       tensor<1x1x3xi32>, tensor<1xi32>)
    -> (tensor<1x2x1x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>,
        tensor<1x1x6xf32>, tensor<1x1x6xi32>, tensor<1x1x2x9xf32>,
        tensor<1x1x2x9xi32>, tensor<1x1x3xf64>, tensor<1x1x3xi32>,
        tensor<1xi32>)
  return %r#0 : tensor<1x2x1x16xf32>
}
