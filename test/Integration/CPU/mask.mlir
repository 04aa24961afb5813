// sparsek.mask through sparsek-cpu-pipeline under mlir-runner.
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  // Row 0: a flat region (f = 1 on [1, 2]): tau is its left end, 1.
  // Row 1: k = 1 is sparsemax: tau = (0.5 + 0.25 + 0 - 1) / 3.
  // Row 2: n = 3 <= k would be needed for p = 1; here k = 2: tau = 0.
  %z = arith.constant dense<[[3.0, 1.0, 0.0], [0.5, 0.25, 0.0], [1.0, 1.0, 1.0]]> : tensor<3x3xf32>
  %p, %t = "sparsek.mask"(%z) {k = 1 : i64} : (tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3xf32>)
  %pb = bufferization.to_buffer %p : tensor<3x3xf32> to memref<3x3xf32>
  %pu = memref.cast %pb : memref<3x3xf32> to memref<*xf32>
  call @printMemrefF32(%pu) : (memref<*xf32>) -> ()
  // CHECK: [1,   0,   0]
  // CHECK-NEXT: [0.583333,   0.333333,   0.0833333]
  // CHECK-NEXT: [0.333333,   0.333333,   0.333333]
  %tb = bufferization.to_buffer %t : tensor<3xf32> to memref<3xf32>
  %tu = memref.cast %tb : memref<3xf32> to memref<*xf32>
  call @printMemrefF32(%tu) : (memref<*xf32>) -> ()
  // CHECK: [1,  -0.0833333,  0.666667]

  // n <= k: everything selected, tau = -inf.
  %p2, %t2 = "sparsek.mask"(%z) {k = 3 : i64} : (tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3xf32>)
  %t2b = bufferization.to_buffer %t2 : tensor<3xf32> to memref<3xf32>
  %t2u = memref.cast %t2b : memref<3xf32> to memref<*xf32>
  call @printMemrefF32(%t2u) : (memref<*xf32>) -> ()
  // CHECK: [-inf,  -inf,  -inf]

  // Rank 1 (one row, a rank-0 tau), with -inf entries, which never count:
  // three entries above -inf and k = 3 give tau = -inf and p = 1 (also for
  // the -inf entries); k = 2 gives the threshold of (2, 0.5, 0).
  %r = arith.constant dense<[2.0, 0xFF800000, 0.5, 0xFF800000, 0.0]> : tensor<5xf32>
  %p3, %t3 = "sparsek.mask"(%r) {k = 3 : i64} : (tensor<5xf32>) -> (tensor<5xf32>, tensor<f32>)
  %p3b = bufferization.to_buffer %p3 : tensor<5xf32> to memref<5xf32>
  %p3u = memref.cast %p3b : memref<5xf32> to memref<*xf32>
  call @printMemrefF32(%p3u) : (memref<*xf32>) -> ()
  // CHECK: [1,  1,  1,  1,  1]
  %t3b = bufferization.to_buffer %t3 : tensor<f32> to memref<f32>
  %t3u = memref.cast %t3b : memref<f32> to memref<*xf32>
  call @printMemrefF32(%t3u) : (memref<*xf32>) -> ()
  // CHECK: [-inf]
  %p4, %t4 = "sparsek.mask"(%r) {k = 2 : i64} : (tensor<5xf32>) -> (tensor<5xf32>, tensor<f32>)
  %p4b = bufferization.to_buffer %p4 : tensor<5xf32> to memref<5xf32>
  %p4u = memref.cast %p4b : memref<5xf32> to memref<*xf32>
  call @printMemrefF32(%p4u) : (memref<*xf32>) -> ()
  // CHECK: [1,  0,  0.75,  0,  0.25]
  return
}
