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
  return
}
