// sparsek.gathered_attention with explicit indices (an entry in the window,
// an out-of-range entry) under mlir-runner, gates logit and kv.
// Expected values: sparsek::ref::gatheredAttention on the same inputs
// (logit: 4.0122 5.0122 / 6.49865 7.49865 / 4.22624 5.22624;
//  kv: 2.98772 3.67868 / 2.86889 3.31306 / 3.05286 3.78699).
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %q = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]]> : tensor<1x1x3x2xf32>
  %k = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5], [-1.0, 0.0], [0.0, -1.0]]]]> : tensor<1x1x6x2xf32>
  %v = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]]> : tensor<1x1x6x2xf32>
  %u = arith.constant dense<[[[0.9, 0.1, 0.5, 0.7, 0.2, 0.3]]]> : tensor<1x1x6xf32>
  // Queries sit at positions 3, 4, 5 with window 1 (each sees itself).
  // Row 0's entry 3 is its window key: it counts once, as a window key. The
  // out-of-range 7 adds nothing. Row 1 lists key 3, outside its window {4}.
  // (Replacing row 0's 3 by the -1 padding gives the same outputs.)
  %idx = arith.constant dense<[[[[0, 2, 3], [0, 3, 1], [3, 0, 7]]]]> : tensor<1x1x3x3xi32>
  %tau = arith.constant dense<[[[0.2, 0.4, 0.1]]]> : tensor<1x1x3xf32>

  %o = "sparsek.gathered_attention"(%q, %k, %v, %u, %idx, %tau) {window = 1 : i64, scale = 1.0 : f64, gate = #sparsek.gate<logit>}
       : (tensor<1x1x3x2xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6xf32>, tensor<1x1x3x3xi32>, tensor<1x1x3xf32>) -> tensor<1x1x3x2xf32>
  %ob = bufferization.to_buffer %o : tensor<1x1x3x2xf32> to memref<1x1x3x2xf32>
  %ou = memref.cast %ob : memref<1x1x3x2xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()
  // CHECK: [4.0122{{[0-9]*}},     5.0122{{[0-9]*}}]
  // CHECK-NEXT: [6.4986{{[0-9]*}},     7.4986{{[0-9]*}}]
  // CHECK-NEXT: [4.2262{{[0-9]*}},     5.2262{{[0-9]*}}]

  %o2 = "sparsek.gathered_attention"(%q, %k, %v, %u, %idx, %tau) {window = 1 : i64, scale = 1.0 : f64}
       : (tensor<1x1x3x2xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6xf32>, tensor<1x1x3x3xi32>, tensor<1x1x3xf32>) -> tensor<1x1x3x2xf32>
  %o2b = bufferization.to_buffer %o2 : tensor<1x1x3x2xf32> to memref<1x1x3x2xf32>
  %o2u = memref.cast %o2b : memref<1x1x3x2xf32> to memref<*xf32>
  call @printMemrefF32(%o2u) : (memref<*xf32>) -> ()
  // CHECK: [2.9877{{[0-9]*}},     3.6786{{[0-9]*}}]
  // CHECK-NEXT: [2.8688{{[0-9]*}},     3.3130{{[0-9]*}}]
  // CHECK-NEXT: [3.0528{{[0-9]*}},     3.7869{{[0-9]*}}]
  return
}
