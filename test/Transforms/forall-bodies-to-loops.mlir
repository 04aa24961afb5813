// RUN: sparsek-opt %s -sparsek-forall-bodies-to-loops -split-input-file -verify-diagnostics | FileCheck %s

// Inside an scf.forall iteration, structured ops are one thread's
// sequential work: loops. Outside, they stay for the parallel lowering.
// CHECK-LABEL: func.func @inside_and_outside
// CHECK: scf.forall
// CHECK-NOT: linalg.fill
// CHECK: scf.for
// CHECK: memref.store
// CHECK: }
// CHECK: linalg.fill
func.func @inside_and_outside(%buf: memref<4x8xf32>, %other: memref<16xf32>) {
  %c = arith.constant 1.0 : f32
  scf.forall (%i) in (4) {
    %row = memref.subview %buf[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    linalg.fill ins(%c : f32) outs(%row : memref<8xf32, strided<[1], offset: ?>>)
  }
  linalg.fill ins(%c : f32) outs(%other : memref<16xf32>)
  return
}

// -----

func.func @tensors(%t: tensor<8xf32>) -> tensor<8xf32> {
  %c = arith.constant 1.0 : f32
  %r = scf.forall (%i) in (1) shared_outs(%o = %t) -> (tensor<8xf32>) {
    // expected-error @+1 {{sparsek-forall-bodies-to-loops expects bufferized linalg ops}}
    %f = linalg.fill ins(%c : f32) outs(%o : tensor<8xf32>) -> tensor<8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %f into %o[0] [8] [1] : tensor<8xf32> into tensor<8xf32>
    }
  }
  return %r : tensor<8xf32>
}
