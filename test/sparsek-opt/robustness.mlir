// Malformed input never crashes sparsek-opt: a diagnostic and a non-zero
// exit status for each of these.
// RUN: not sparsek-opt %s -split-input-file 2>&1 | FileCheck %s --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"

// CHECK: error: custom op 'sparsek.attention' expected 'k'
func.func @missing_keyword(%q: tensor<1x1x4x4xf32>) {
  %o = sparsek.attention %q, %q, %q, %q window = 1 : (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return
}

// -----

// CHECK: error: 'sparsek.mask' op requires k >= 1
func.func @huge_negative_k(%z: tensor<4xf32>) {
  %p, %t = "sparsek.mask"(%z) {k = -9223372036854775808 : i64} : (tensor<4xf32>) -> (tensor<4xf32>, tensor<f32>)
  return
}

// -----

// CHECK: error: 'sparsek.score' op 'x' must have rank 3
func.func @rank_zero(%x: tensor<f32>) {
  %u = "sparsek.score"(%x, %x) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

// CHECK: error: 'sparsek.topk' op result #0 must be ranked tensor of any type values
func.func @memref_result(%u: tensor<1x1x4xf32>) {
  %i = "sparsek.topk"(%u) {k = 1 : i64, window = 0 : i64} : (tensor<1x1x4xf32>) -> memref<1x1x4x1xi32>
  return
}

// -----

// CHECK: error: 'sparsek.threshold' op requires attribute 'window'
func.func @no_window(%u: tensor<1x1x4xf32>) {
  %t = "sparsek.threshold"(%u) {k = 1 : i64} : (tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
  return
}

// -----

// CHECK: error: 'sparsek.gathered_attention' op 'q' must have rank 4
func.func @ga_zero_rank(%x: tensor<f32>, %i: tensor<i32>) {
  %o = "sparsek.gathered_attention"(%x, %x, %x, %x, %i, %x) {window = 0 : i64} : (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<i32>, tensor<f32>) -> tensor<f32>
  return
}

