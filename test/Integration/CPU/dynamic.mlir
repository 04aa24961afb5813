// The whole layer with every dimension dynamic gives the same answer as the
// static layer in layer.mlir (same inputs).
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @layer(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
                 %u: tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 2 : i64}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

// Non-causal: decomposed with a dynamic N (one selection broadcast along N).
func.func @layer_nc(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
                    %u: tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 0 : i64, causal = false}
       : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %o : tensor<?x?x?x?xf32>
}

func.func @main() {
  %q = arith.constant dense<0.5> : tensor<1x2x6x4xf32>
  %k = arith.constant dense<[[[[1.0,0.0,0.0,0.0],[0.0,1.0,0.0,0.0],[0.0,0.0,1.0,0.0],[0.0,0.0,0.0,1.0],[1.0,1.0,0.0,0.0],[0.0,1.0,1.0,0.0]]]]> : tensor<1x1x6x4xf32>
  %v = arith.constant dense<[[[[1.0,2.0],[3.0,4.0],[5.0,6.0],[7.0,8.0],[9.0,10.0],[11.0,12.0]]]]> : tensor<1x1x6x2xf32>
  %u = arith.constant dense<[[[0.9, 0.1, 0.5, 0.7, 0.2, 0.3]]]> : tensor<1x1x6xf32>
  %qd = tensor.cast %q : tensor<1x2x6x4xf32> to tensor<?x?x?x?xf32>
  %kd = tensor.cast %k : tensor<1x1x6x4xf32> to tensor<?x?x?x?xf32>
  %vd = tensor.cast %v : tensor<1x1x6x2xf32> to tensor<?x?x?x?xf32>
  %ud = tensor.cast %u : tensor<1x1x6xf32> to tensor<?x?x?xf32>
  %o = call @layer(%qd, %kd, %vd, %ud) : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %ob = bufferization.to_buffer %o : tensor<?x?x?x?xf32> to memref<?x?x?x?xf32>
  %ou = memref.cast %ob : memref<?x?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()
  // CHECK: sizes = [1, 2, 6, 2]
  // CHECK: [1,     2]
  // CHECK-NEXT: [2,     3]
  // CHECK-NEXT: [3,     4]
  // CHECK-NEXT: [4,     5]
  // CHECK-NEXT: [5.41419,     6.34811]
  // CHECK-NEXT: [6.89562,     7.79103]

  // Non-causal, static and dynamic: the same rows (keys 0 and 3, the two
  // best scores, for every query).
  %s = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 0 : i64, causal = false}
       : (tensor<1x2x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6xf32>) -> tensor<1x2x6x2xf32>
  %sb = bufferization.to_buffer %s : tensor<1x2x6x2xf32> to memref<1x2x6x2xf32>
  %su = memref.cast %sb : memref<1x2x6x2xf32> to memref<*xf32>
  call @printMemrefF32(%su) : (memref<*xf32>) -> ()
  // CHECK: sizes = [1, 2, 6, 2]
  // CHECK-NEXT: [{{\[}}[[[ROW:.*]]],
  %d = call @layer_nc(%qd, %kd, %vd, %ud) : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  %db = bufferization.to_buffer %d : tensor<?x?x?x?xf32> to memref<?x?x?x?xf32>
  %du = memref.cast %db : memref<?x?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%du) : (memref<*xf32>) -> ()
  // CHECK: sizes = [1, 2, 6, 2]
  // CHECK-NEXT: [{{\[}}[[[ROW]]],
  // CHECK-COUNT-5: [[ROW]]
  return
}
