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

// A copy into a strided view (an entry point's output argument, which a
// caller may pass a transposed tensor for): gpu.memcpy only when the view
// is row-major from offset 0 at run time, else a memref.copy (a kernel
// that follows the strides; gpu.memcpy would write one contiguous run from
// the aligned pointer).
// CHECK-LABEL: func.func @into_view
// CHECK-SAME: (%[[OUT:.*]]: memref<?x?xf32, strided<[?, ?], offset: ?>>, %[[N:.*]]: index)
// CHECK: %[[BUF:.*]] = gpu.alloc (%[[N]], %[[N]]) : memref<?x?xf32>
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %[[ST:.*]]:2 = memref.extract_strided_metadata %[[OUT]]
// CHECK: arith.cmpi eq, %[[OFF]]
// CHECK: arith.cmpi eq, %[[ST]]#1
// CHECK: arith.cmpi eq, %[[ST]]#0
// CHECK: scf.if
// CHECK: %[[PLAIN:.*]] = memref.cast %[[OUT]] : memref<?x?xf32, strided<[?, ?], offset: ?>> to memref<?x?xf32>
// CHECK: gpu.memcpy %[[PLAIN]], %[[BUF]] : memref<?x?xf32>, memref<?x?xf32>
// CHECK: } else {
// CHECK: memref.copy %[[BUF]], %[[OUT]] : memref<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: gpu.dealloc %[[BUF]]
func.func @into_view(%out: memref<?x?xf32, strided<[?, ?], offset: ?>>, %n: index) {
  %buf = memref.alloc(%n, %n) : memref<?x?xf32>
  memref.copy %buf, %out : memref<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
  memref.dealloc %buf : memref<?x?xf32>
  return
}

// Fills of 16- and 32-bit elements become gpu.memset (the driver's memset,
// near the copy bandwidth); into a strided view only when it is row-major
// from offset 0 at run time (else the fill, a kernel that follows the
// strides); 64-bit fills and a kernel's own fills stay fills.
// CHECK-LABEL: func.func @fills
// CHECK-SAME: (%[[V:.*]]: memref<?x?xbf16, strided<[?, ?], offset: ?>>, %[[N:.*]]: index)
// CHECK: %[[A:.*]] = gpu.alloc (%[[N]]) : memref<?xf32>
// CHECK: gpu.memset %[[A]], %{{.*}} : memref<?xf32>, f32
// CHECK: %[[I:.*]] = gpu.alloc (%[[N]]) : memref<?xi32>
// CHECK: gpu.memset %[[I]], %{{.*}} : memref<?xi32>, i32
// CHECK: %[[D:.*]] = gpu.alloc (%[[N]]) : memref<?xf64>
// CHECK: linalg.fill ins(%{{.*}} : f64) outs(%[[D]] : memref<?xf64>)
// CHECK: memref.extract_strided_metadata %[[V]]
// CHECK: scf.if
// CHECK: %[[PLAIN:.*]] = memref.cast %[[V]] : memref<?x?xbf16, strided<[?, ?], offset: ?>> to memref<?x?xbf16>
// CHECK: gpu.memset %[[PLAIN]], %{{.*}} : memref<?x?xbf16>, bf16
// CHECK: } else {
// CHECK: linalg.fill ins(%{{.*}} : bf16) outs(%[[V]] : memref<?x?xbf16, strided<[?, ?], offset: ?>>)
// CHECK: scf.forall
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<4xf32>)
func.func @fills(%v: memref<?x?xbf16, strided<[?, ?], offset: ?>>, %n: index) {
  %zf = arith.constant 0.0 : f32
  %zi = arith.constant -1 : i32
  %zd = arith.constant 0.0 : f64
  %zb = arith.constant 1.0 : bf16
  %a = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zf : f32) outs(%a : memref<?xf32>)
  %i = memref.alloc(%n) : memref<?xi32>
  linalg.fill ins(%zi : i32) outs(%i : memref<?xi32>)
  %d = memref.alloc(%n) : memref<?xf64>
  linalg.fill ins(%zd : f64) outs(%d : memref<?xf64>)
  linalg.fill ins(%zb : bf16) outs(%v : memref<?x?xbf16, strided<[?, ?], offset: ?>>)
  scf.forall (%t) in (8) {
    %s = memref.alloc() : memref<4xf32>
    linalg.fill ins(%zf : f32) outs(%s : memref<4xf32>)
    memref.dealloc %s : memref<4xf32>
  }
  memref.dealloc %a : memref<?xf32>
  memref.dealloc %i : memref<?xi32>
  memref.dealloc %d : memref<?xf64>
  return
}
