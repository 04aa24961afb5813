// sparsek.block_select with a dynamic query length from its `queries`
// operand, run on the CPU: N = 6 of M = 6 keys gives the selection of the
// static op, and a run-time `queries` beyond M (here 6 + 100) is clamped
// to M (the result sizes follow; nothing read out of bounds), a negative
// one to 0.
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

func.func @select(%u: tensor<1x1x?xf32>, %n: index)
    -> (tensor<1x1x?xf32>, tensor<1x1x?x3xi32>, tensor<1x1x?xi32>) {
  %s:5 = "sparsek.block_select"(%u, %n) {k = 2 : i64, window = 1 : i64, block_size = 2 : i64}
      : (tensor<1x1x?xf32>, index)
        -> (tensor<1x1x?xf32>, tensor<1x1x?xi32>, tensor<1x1x?xf32>, tensor<1x1x?x3xi32>, tensor<1x1x?xi32>)
  return %s#2, %s#3, %s#4 : tensor<1x1x?xf32>, tensor<1x1x?x3xi32>, tensor<1x1x?xi32>
}

func.func @main() {
  %u = arith.constant dense<[[[0.9, 0.1, 0.5, 0.7, 0.2, 0.3]]]> : tensor<1x1x6xf32>
  %ud = tensor.cast %u : tensor<1x1x6xf32> to tensor<1x1x?xf32>
  %c2 = arith.constant 2 : index
  %m = tensor.dim %ud, %c2 : tensor<1x1x?xf32>
  %c100 = arith.constant 100 : index
  %big = arith.addi %m, %c100 : index
  %neg = arith.subi %m, %big : index
  // The thresholds (k = 2, window 1: -inf while at most k candidates), the
  // blocks' unions and their counts; twice (N = M, then N = M + 100
  // clamped to M), then nothing (N < 0 clamped to 0).
  // CHECK: sizes = [1, 1, 6]
  // CHECK-NEXT: {{\[\[\[}}-inf, -inf, -inf, -0.2, 0.05, 0.08{{\]\]\]}}
  // CHECK: sizes = [1, 1, 3, 3]
  // CHECK-NEXT: [0, -1, -1],
  // CHECK-NEXT: [0, 1, 2],
  // CHECK-NEXT: [0, 3, -1{{\]\]\]\]}}
  // CHECK: sizes = [1, 1, 3]
  // CHECK-NEXT: {{\[\[\[}}1, 3, 2{{\]\]\]}}
  // CHECK: sizes = [1, 1, 6]
  // CHECK-NEXT: {{\[\[\[}}-inf, -inf, -inf, -0.2, 0.05, 0.08{{\]\]\]}}
  // CHECK: sizes = [1, 1, 3, 3]
  // CHECK: sizes = [1, 1, 3]
  // CHECK-NEXT: {{\[\[\[}}1, 3, 2{{\]\]\]}}
  // CHECK: sizes = [1, 1, 0]
  // CHECK: sizes = [1, 1, 0, 3]
  // CHECK: sizes = [1, 1, 0]
  func.call @run(%ud, %m) : (tensor<1x1x?xf32>, index) -> ()
  func.call @run(%ud, %big) : (tensor<1x1x?xf32>, index) -> ()
  func.call @run(%ud, %neg) : (tensor<1x1x?xf32>, index) -> ()
  return
}

func.func @run(%u: tensor<1x1x?xf32>, %n: index) {
  %t, %keys, %count = func.call @select(%u, %n)
      : (tensor<1x1x?xf32>, index) -> (tensor<1x1x?xf32>, tensor<1x1x?x3xi32>, tensor<1x1x?xi32>)
  %tu = tensor.cast %t : tensor<1x1x?xf32> to tensor<*xf32>
  %tm = bufferization.to_buffer %tu : tensor<*xf32> to memref<*xf32>
  func.call @printMemrefF32(%tm) : (memref<*xf32>) -> ()
  %ku = tensor.cast %keys : tensor<1x1x?x3xi32> to tensor<*xi32>
  %km = bufferization.to_buffer %ku : tensor<*xi32> to memref<*xi32>
  func.call @printMemrefI32(%km) : (memref<*xi32>) -> ()
  %cu = tensor.cast %count : tensor<1x1x?xi32> to tensor<*xi32>
  %cm = bufferization.to_buffer %cu : tensor<*xi32> to memref<*xi32>
  func.call @printMemrefI32(%cm) : (memref<*xi32>) -> ()
  return
}
