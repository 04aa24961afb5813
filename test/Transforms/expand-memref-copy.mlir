// RUN: sparsek-opt %s -sparsek-expand-memref-copy | FileCheck %s

// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[A:.*]]: memref<?x?xf32>, %[[B:.*]]: memref<?x?xf32>)
// CHECK: linalg.copy ins(%[[A]] : memref<?x?xf32>) outs(%[[B]] : memref<?x?xf32>)
// CHECK-NOT: memref.copy
func.func @dynamic(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  memref.copy %a, %b : memref<?x?xf32> to memref<?x?xf32>
  return
}

// Unranked copies have no linalg form and stay.
// CHECK-LABEL: func.func @unranked
// CHECK: memref.copy
func.func @unranked(%a: memref<*xf32>, %b: memref<*xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  return
}
