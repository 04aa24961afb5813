// RUN: sparsek-opt %s -sparsek-host-buffers-to-gpu | FileCheck %s

// Host-level buffers move to the GPU; a kernel's own scratch (inside
// scf.forall / scf.parallel) stays a memref.alloc (device malloc).
// CHECK-LABEL: func.func @host_and_kernel
// CHECK-SAME: (%[[ARG:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[BUF:.*]] = gpu.alloc (%[[N]]) : memref<?xf32>
// CHECK: gpu.memcpy %[[ARG]], %[[BUF]] : memref<?xf32>, memref<?xf32>
// CHECK: scf.forall
// CHECK: %[[SCRATCH:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.dealloc %[[SCRATCH]] : memref<4xf32>
// CHECK: gpu.dealloc %[[BUF]] : memref<?xf32>
func.func @host_and_kernel(%arg: memref<?xf32>, %n: index) {
  %buf = memref.alloc(%n) : memref<?xf32>
  memref.copy %buf, %arg : memref<?xf32> to memref<?xf32>
  scf.forall (%i) in (8) {
    %s = memref.alloc() : memref<4xf32>
    memref.dealloc %s : memref<4xf32>
  }
  memref.dealloc %buf : memref<?xf32>
  return
}
