// sparsek.score (bf16 features, bias, slope) under mlir-runner.
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %x = arith.constant dense<[[[1.0, 2.0], [0.5, -1.0], [0.0, 4.0]]]> : tensor<1x3x2xbf16>
  %w = arith.constant dense<[[1.0, 1.0], [2.0, -0.5]]> : tensor<2x2xbf16>
  %b = arith.constant dense<[0.25, -1.0]> : tensor<2xf32>
  // u[h, j] = x[j] . w[h] + b[h] + 0.5 j
  %u = "sparsek.score"(%x, %w, %b) {slope = 0.5 : f64} : (tensor<1x3x2xbf16>, tensor<2x2xbf16>, tensor<2xf32>) -> tensor<1x2x3xf32>
  %ub = bufferization.to_buffer %u : tensor<1x2x3xf32> to memref<1x2x3xf32>
  %uu = memref.cast %ub : memref<1x2x3xf32> to memref<*xf32>
  call @printMemrefF32(%uu) : (memref<*xf32>) -> ()
  // CHECK: [3.25,    0.25,    5.25]
  // CHECK-NEXT: [0,    1,    -2]
  return
}
