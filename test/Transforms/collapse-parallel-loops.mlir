// sparsek-collapse-parallel-loops: an outermost multi-dimensional
// scf.parallel becomes one dimension over the product of its trip counts,
// the last dimension fastest; nested and one-dimensional loops stay.
// RUN: sparsek-opt %s --sparsek-collapse-parallel-loops | FileCheck %s
// The GPU pipeline then maps it to blocks along x only: a rank-4 fill with
// 65536 rows no longer needs a grid z of 65536 (CUDA's limit: 65535).
// RUN: sparsek-opt %s --sparsek-nvvm-pipeline="format=isa" | FileCheck %s --check-prefix=GRID

// CHECK-LABEL: func.func @fill4
// CHECK: scf.parallel (%[[F:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NOT: scf.parallel
// CHECK: arith.remsi %[[F]]
// CHECK: memref.store
// GRID-LABEL: llvm.func @fill4
// GRID: gpu.launch_func
// GRID-SAME: blocks in (%{{.*}}, %[[ONE:.*]], %[[ONE]])
func.func @fill4(%m: memref<1x2x65536x128xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant 65536 : index
  %d = arith.constant 128 : index
  scf.parallel (%b, %h, %i, %j) = (%c0, %c0, %c0, %c0) to (%c1, %c2, %n, %d) step (%c1, %c1, %c1, %c1) {
    memref.store %v, %m[%b, %h, %i, %j] : memref<1x2x65536x128xf32>
  }
  return
}

// CHECK-LABEL: func.func @one_dim
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: memref.store
func.func @one_dim(%m: memref<64xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    memref.store %v, %m[%i] : memref<64xf32>
  }
  return
}
