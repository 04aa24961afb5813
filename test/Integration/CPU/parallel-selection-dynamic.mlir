// The parallel selection with M known only at run time: the trees' level
// count L4 (the fewest with 4^L4 > M) is then computed on the host, and
// the merge rounds (in pairs) build one level more than an odd count
// (M = 300: L4 = 5) and exactly an even one (M = 64: L4 = 4). Thresholds and top-k
// lists of a dynamic-M function must equal those of the same op on static
// shapes (whose L4 is folded at compile time and which the selection grid
// checks against the reference): the maximum difference and the count of
// differing indices, both 0.
// RUN: sparsek-opt %s --sparsek-cpu-pipeline="parallel-selection=1" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils | FileCheck %s
func.func private @printMemrefF32(memref<*xf32>)

func.func @dyn300(%u: tensor<1x2x?xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300x8xi32>) {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x?xf32>) -> tensor<1x2x300xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x?xf32>) -> tensor<1x2x300x8xi32>
  return %t, %i : tensor<1x2x300xf32>, tensor<1x2x300x8xi32>
}
func.func @static300(%u: tensor<1x2x300xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300x8xi32>) {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x300xf32>) -> tensor<1x2x300xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x300xf32>) -> tensor<1x2x300x8xi32>
  return %t, %i : tensor<1x2x300xf32>, tensor<1x2x300x8xi32>
}
func.func @dyn64(%u: tensor<1x2x?xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64x8xi32>) {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x?xf32>) -> tensor<1x2x64xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x?xf32>) -> tensor<1x2x64x8xi32>
  return %t, %i : tensor<1x2x64xf32>, tensor<1x2x64x8xi32>
}
func.func @static64(%u: tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64x8xi32>) {
  %t = "sparsek.threshold"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64xf32>
  %i = "sparsek.topk"(%u) {k = 8 : i64, window = 4 : i64} : (tensor<1x2x64xf32>) -> tensor<1x2x64x8xi32>
  return %t, %i : tensor<1x2x64xf32>, tensor<1x2x64x8xi32>
}

// Scores 3 sin(1.7 j + 0.3 h): distinct, in no order.
func.func @scores(%m: index) -> tensor<1x2x?xf32> {
  %u = tensor.generate %m {
  ^bb0(%b: index, %h: index, %j: index):
    %jf = arith.index_cast %j : index to i64
    %hf = arith.index_cast %h : index to i64
    %x = arith.sitofp %jf : i64 to f32
    %y = arith.sitofp %hf : i64 to f32
    %a = arith.constant 1.7 : f32
    %c = arith.constant 0.3 : f32
    %three = arith.constant 3.0 : f32
    %xa = arith.mulf %x, %a : f32
    %yc = arith.mulf %y, %c : f32
    %s = arith.addf %xa, %yc : f32
    %v = math.sin %s : f32
    %r = arith.mulf %v, %three : f32
    tensor.yield %r : f32
  } : tensor<1x2x?xf32>
  return %u : tensor<1x2x?xf32>
}

// Prints [max |tau difference|, differing indices] (-inf = -inf counts as 0).
func.func @compare(%t0: tensor<1x2x?xf32>, %t1: tensor<1x2x?xf32>,
                   %i0: tensor<1x2x?x8xi32>, %i1: tensor<1x2x?x8xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %n = tensor.dim %t0, %c2 : tensor<1x2x?xf32>
  %zero = arith.constant 0.0 : f32
  %res:2 = scf.for %h = %c0 to %c2 step %c1 iter_args(%d = %zero, %bad = %zero) -> (f32, f32) {
    %r:2 = scf.for %q = %c0 to %n step %c1 iter_args(%d1 = %d, %b1 = %bad) -> (f32, f32) {
      %a = tensor.extract %t0[%c0, %h, %q] : tensor<1x2x?xf32>
      %b = tensor.extract %t1[%c0, %h, %q] : tensor<1x2x?xf32>
      %same = arith.cmpf oeq, %a, %b : f32
      %diff = arith.subf %a, %b : f32
      %ad = math.absf %diff : f32
      %dd = arith.select %same, %zero, %ad : f32
      %dm = arith.maximumf %d1, %dd : f32
      %bb = scf.for %e = %c0 to %c8 step %c1 iter_args(%b2 = %b1) -> (f32) {
        %x = tensor.extract %i0[%c0, %h, %q, %e] : tensor<1x2x?x8xi32>
        %y = tensor.extract %i1[%c0, %h, %q, %e] : tensor<1x2x?x8xi32>
        %ne = arith.cmpi ne, %x, %y : i32
        %one = arith.constant 1.0 : f32
        %inc = arith.select %ne, %one, %zero : f32
        %b3 = arith.addf %b2, %inc : f32
        scf.yield %b3 : f32
      }
      scf.yield %dm, %bb : f32, f32
    }
    scf.yield %r#0, %r#1 : f32, f32
  }
  %out = tensor.from_elements %res#0, %res#1 : tensor<2xf32>
  %ob = bufferization.to_buffer %out : tensor<2xf32> to memref<2xf32>
  %ou = memref.cast %ob : memref<2xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %m300 = arith.constant 300 : index
  %u300 = call @scores(%m300) : (index) -> tensor<1x2x?xf32>
  %s300 = tensor.cast %u300 : tensor<1x2x?xf32> to tensor<1x2x300xf32>
  %ta, %ia = call @dyn300(%u300) : (tensor<1x2x?xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300x8xi32>)
  %tb, %ib = call @static300(%s300) : (tensor<1x2x300xf32>) -> (tensor<1x2x300xf32>, tensor<1x2x300x8xi32>)
  %ta_ = tensor.cast %ta : tensor<1x2x300xf32> to tensor<1x2x?xf32>
  %tb_ = tensor.cast %tb : tensor<1x2x300xf32> to tensor<1x2x?xf32>
  %ia_ = tensor.cast %ia : tensor<1x2x300x8xi32> to tensor<1x2x?x8xi32>
  %ib_ = tensor.cast %ib : tensor<1x2x300x8xi32> to tensor<1x2x?x8xi32>
  call @compare(%ta_, %tb_, %ia_, %ib_) : (tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?x8xi32>, tensor<1x2x?x8xi32>) -> ()
  // CHECK: [0,  0]

  %m64 = arith.constant 64 : index
  %u64 = call @scores(%m64) : (index) -> tensor<1x2x?xf32>
  %s64 = tensor.cast %u64 : tensor<1x2x?xf32> to tensor<1x2x64xf32>
  %tc, %ic = call @dyn64(%u64) : (tensor<1x2x?xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64x8xi32>)
  %td, %id = call @static64(%s64) : (tensor<1x2x64xf32>) -> (tensor<1x2x64xf32>, tensor<1x2x64x8xi32>)
  %tc_ = tensor.cast %tc : tensor<1x2x64xf32> to tensor<1x2x?xf32>
  %td_ = tensor.cast %td : tensor<1x2x64xf32> to tensor<1x2x?xf32>
  %ic_ = tensor.cast %ic : tensor<1x2x64x8xi32> to tensor<1x2x?x8xi32>
  %id_ = tensor.cast %id : tensor<1x2x64x8xi32> to tensor<1x2x?x8xi32>
  call @compare(%tc_, %td_, %ic_, %id_) : (tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?x8xi32>, tensor<1x2x?x8xi32>) -> ()
  // CHECK: [0,  0]
  return
}
