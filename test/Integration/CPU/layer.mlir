// Thresholds, selection and the whole layer through sparsek-cpu-pipeline
// under mlir-runner. Expected values come from the reference library
// (sparsek::ref) on the same inputs.
// RUN: sparsek-opt %s --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// The same through scf.parallel (option parallel=1).
// RUN: sparsek-opt %s --sparsek-cpu-pipeline="parallel=1" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// The fused path: sparsek-fuse-attention (block_select + block_attention ops,
// blocks of 2 queries; blocks of 3 from the decomposed stages), and the
// lowering's own fusion with the GPU's selection.
// RUN: sparsek-opt %s --sparsek-fuse-attention="block-size=2" --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: sparsek-opt %s --sparsek-decompose --sparsek-fuse-attention="block-size=3" --sparsek-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
// RUN: sparsek-opt %s --sparsek-cpu-pipeline="fused-block-size=3 parallel-selection=1" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

func.func @main() {
  %q = arith.constant dense<0.5> : tensor<1x2x6x4xf32>
  %k = arith.constant dense<[[[[1.0,0.0,0.0,0.0],[0.0,1.0,0.0,0.0],[0.0,0.0,1.0,0.0],[0.0,0.0,0.0,1.0],[1.0,1.0,0.0,0.0],[0.0,1.0,1.0,0.0]]]]> : tensor<1x1x6x4xf32>
  %v = arith.constant dense<[[[[1.0,2.0],[3.0,4.0],[5.0,6.0],[7.0,8.0],[9.0,10.0],[11.0,12.0]]]]> : tensor<1x1x6x2xf32>
  %u = arith.constant dense<[[[0.9, 0.1, 0.5, 0.7, 0.2, 0.3]]]> : tensor<1x1x6xf32>

  // Queries 0-3 have at most k = 2 candidates (tau = -inf); query 4 sees
  // {0.9, 0.1, 0.5}: 0.9 capped, tau = (1 + 0.6 - 2) / 2.
  %t = "sparsek.threshold"(%u) {k = 2 : i64, window = 2 : i64} : (tensor<1x1x6xf32>) -> tensor<1x1x6xf32>
  %tb = bufferization.to_buffer %t : tensor<1x1x6xf32> to memref<1x1x6xf32>
  %tu = memref.cast %tb : memref<1x1x6xf32> to memref<*xf32>
  call @printMemrefF32(%tu) : (memref<*xf32>) -> ()
  // CHECK: [-inf,    -inf,    -inf,    -inf,    -0.2,    0.05]

  %i = "sparsek.topk"(%u) {k = 2 : i64, window = 2 : i64} : (tensor<1x1x6xf32>) -> tensor<1x1x6x2xi32>
  %ib = bufferization.to_buffer %i : tensor<1x1x6x2xi32> to memref<1x1x6x2xi32>
  %iu = memref.cast %ib : memref<1x1x6x2xi32> to memref<*xi32>
  call @printMemrefI32(%iu) : (memref<*xi32>) -> ()
  // CHECK: [-1,     -1]
  // CHECK-NEXT: [-1,     -1]
  // CHECK-NEXT: [0,     -1]
  // CHECK-NEXT: [0,     1]
  // CHECK-NEXT: [0,     2]
  // CHECK-NEXT: [0,     3]

  // GQA 2:1, gate kv, scale 1/sqrt(4).
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 2 : i64, window = 2 : i64} : (tensor<1x2x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x2xf32>, tensor<1x1x6xf32>) -> tensor<1x2x6x2xf32>
  %ob = bufferization.to_buffer %o : tensor<1x2x6x2xf32> to memref<1x2x6x2xf32>
  %ou = memref.cast %ob : memref<1x2x6x2xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()
  // CHECK: [1,     2]
  // CHECK-NEXT: [2,     3]
  // CHECK-NEXT: [3,     4]
  // CHECK-NEXT: [4,     5]
  // CHECK-NEXT: [5.41419,     6.34811]
  // CHECK-NEXT: [6.89562,     7.79103]
  return
}
