// RUN: sparsek-opt %s -sparsek-checked-entry-points | FileCheck %s

// CHECK-LABEL: func.func @layer(
// CHECK-LABEL: func.func @layer_checked
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?xf32>, %[[OUT:.*]]: memref<?xf32>) -> i32 attributes {llvm.emit_c_interface}
// CHECK-DAG: tensor.dim %[[Q]], %{{.*}} : tensor<?x?xf32>
// CHECK-DAG: memref.dim %[[OUT]], %{{.*}} : memref<?xf32>
// CHECK: %[[R:.*]] = scf.if %{{.*}} -> (i32) {
// CHECK: %[[QC:.*]] = tensor.cast %[[Q]] : tensor<?x?xf32> to tensor<2x?xf32>
// CHECK: %[[OC:.*]] = memref.cast %[[OUT]] : memref<?xf32> to memref<8xf32>
// CHECK: func.call @layer(%[[QC]], %[[OC]])
// CHECK: scf.yield %{{.*}} : i32
// CHECK: } else {
// CHECK: scf.yield %{{.*}} : i32
// CHECK: return %[[R]] : i32
func.func @layer(%q: tensor<2x?xf32>, %out: memref<8xf32>) {
  return
}

// Functions with results, private functions and non-shaped arguments are
// left alone: nothing to check, or no C caller.
// CHECK-NOT: @with_result_checked
// CHECK-NOT: @private_checked
// CHECK-NOT: @scalar_checked
func.func @with_result(%q: tensor<2xf32>) -> tensor<2xf32> {
  return %q : tensor<2xf32>
}
func.func private @private(%q: tensor<2xf32>) {
  return
}
func.func @scalar(%x: f32) {
  return
}
