// RUN: sparsek-opt %s -sparsek-gpu-map-forall | FileCheck %s

// Unmapped foralls get GPU blocks in dimension order.
// CHECK-LABEL: func.func @rows
// CHECK: scf.forall
// CHECK: } {mapping = [#gpu.block<x>, #gpu.block<y>]}
func.func @rows(%t: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = scf.forall (%i, %j) in (4, 8) shared_outs(%o = %t) -> (tensor<4x8xf32>) {
    %e = tensor.extract_slice %o[%i, %j] [1, 1] [1, 1] : tensor<4x8xf32> to tensor<1x1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %e into %o[%i, %j] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<4x8xf32>
    }
  }
  return %r : tensor<4x8xf32>
}

// A forall that is already mapped is left alone.
// CHECK-LABEL: func.func @mapped
// CHECK: } {mapping = [#gpu.thread<x>]}
func.func @mapped(%t: tensor<4xf32>) -> tensor<4xf32> {
  %r = scf.forall (%i) in (4) shared_outs(%o = %t) -> (tensor<4xf32>) {
    %e = tensor.extract_slice %o[%i] [1] [1] : tensor<4xf32> to tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %e into %o[%i] [1] [1] : tensor<1xf32> into tensor<4xf32>
    }
  } {mapping = [#gpu.thread<x>]}
  return %r : tensor<4xf32>
}
