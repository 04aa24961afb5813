// Every diagnostic of sparsek.decode_prefill and sparsek.decode_step
// (docs/Semantics.md section 10): attributes, ranks, element types, the
// state's sizes against k, window and the band, and the tie between each
// result and its init. Generic form, as a framework would write it.
// RUN: sparsek-opt %s -split-input-file -verify-diagnostics
// RUN: not sparsek-opt %s -split-input-file 2>&1 | FileCheck %s --check-prefix=EXIT
// EXIT-NOT: Stack dump
// EXIT-NOT: PLEASE submit a bug report

func.func @prefill_k(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{requires k >= 1 (selected KV pairs per query), got k = 0}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 0 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_window(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{requires window >= 0 (sliding-window length), got window = -1}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = -1 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_huge_k(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{requires k and window at most 2^30}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 2147483648 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_lengths_type(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi64>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'prompt_lengths' must have element type i32, got 'i64'}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi64>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_u_rank(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'u' must have rank 3 [B, Hkv, P], got rank 2}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_elem(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xbf16>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'key' and 'keys_init' must have the same element type, got 'f32' and 'bf16'}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xbf16>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xbf16>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_slots(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x5x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'keys_init' dim 2 (slots) must equal k + window = 6, got 5}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x5x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x5x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_band(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x4xf32>, %a9: tensor<2x2x2x4xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'band_scores_init' dim 3 (k + band capacity + 1) must be >= 5, got 4}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x4xf32>, tensor<2x2x2x4xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x4xf32>, tensor<2x2x2x4xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_heaps(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x3x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'band_scores_init' dim 2 (heaps) = 2, got 3}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x3x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x3x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_threshold_type(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf32>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'threshold_init' must have element type f64, got 'f32'}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf32>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf32>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_counts(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x2xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{'counts_init' dim 2 (heap sizes, overflow) = 3, got 2}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x2xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x2xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_batch(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<3xi32>) {
  // expected-error @+1 {{batch mismatch: 'key' has 2 at dim 0 but 'lengths_init' has 3 at dim 0}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<3xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<3xi32>)
  return
}

// -----

func.func @prefill_heads(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x3x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{KV heads mismatch: 'key' has 2 at dim 1 but 'positions_init' has 3 at dim 1}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x3x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x3x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @prefill_head_dim(%a0: tensor<2x2x20x8xf32>, %a1: tensor<2x2x20x8xf32>, %a2: tensor<2x2x20xf32>, %a3: tensor<2xi32>, %a4: tensor<2x2x6x4xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6xf32>, %a7: tensor<2x2x6xi32>, %a8: tensor<2x2x2x9xf32>, %a9: tensor<2x2x2x9xi32>, %a10: tensor<2x2x3xf64>, %a11: tensor<2x2x3xi32>, %a12: tensor<2xi32>) {
  // expected-error @+1 {{head dim mismatch: 'key' has 8 at dim 3 but 'keys_init' has 4 at dim 3}}
  %r:9 = "sparsek.decode_prefill"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12) {k = 4 : i64, window = 2 : i64} : (tensor<2x2x20x8xf32>, tensor<2x2x20x8xf32>, tensor<2x2x20xf32>, tensor<2xi32>, tensor<2x2x6x4xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x2x6x4xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_q_len(%a0: tensor<2x4x2x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x2x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{'q' dim 2 (queries per step) = 1, got 2}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x2x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x2x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x2x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_key_len(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x2x8xf32>, %a2: tensor<2x2x2x8xf32>, %a3: tensor<2x2x2xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{'key' dim 2 (tokens per step) = 1, got 2}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x2x8xf32>, tensor<2x2x2x8xf32>, tensor<2x2x2xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_gqa(%a0: tensor<2x3x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x3x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{query heads Hq = 3 ('q' dim 1) must be a multiple of KV heads Hkv = 2 ('key' dim 1) (GQA: Hq % Hkv == 0)}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x3x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x3x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x3x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_scale(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{requires scale > 0 (finite softmax scale), got scale = 0}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64, scale = 0.0 : f64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_elem(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf16>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{'q' and 'values_init' must have the same element type, got 'f32' and 'f16'}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf16>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf16>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_positions_type(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xf32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{'positions_init' must have element type i32, got 'f32'}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xf32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xf32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_slots(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x7xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{slots mismatch: 'keys_init' has 6 at dim 2 but 'scores_init' has 7 at dim 2}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x7xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x7xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_band_entries(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x10xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{band entries mismatch: 'band_scores_init' has 9 at dim 3 but 'band_positions_init' has 10 at dim 3}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x10xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x10xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

// -----

func.func @step_lengths_rank(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2x1xi32>) {
  // expected-error @+1 {{'lengths_init' must have rank 1 [B], got rank 2}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2x1xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2x1xi32>)
  return
}

// -----

func.func @step_result_type(%a0: tensor<2x4x1x8xf32>, %a1: tensor<2x2x1x8xf32>, %a2: tensor<2x2x1x8xf32>, %a3: tensor<2x2x1xf32>, %a4: tensor<2x4x1x8xf32>, %a5: tensor<2x2x6x8xf32>, %a6: tensor<2x2x6x8xf32>, %a7: tensor<2x2x6xf32>, %a8: tensor<2x2x6xi32>, %a9: tensor<2x2x2x9xf32>, %a10: tensor<2x2x2x9xi32>, %a11: tensor<2x2x3xf64>, %a12: tensor<2x2x3xi32>, %a13: tensor<2xi32>) {
  // expected-error @+1 {{failed to verify that all of {keys_init, keys} have same type}}
  %r:10 = "sparsek.decode_step"(%a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13) {k = 4 : i64, window = 2 : i64} : (tensor<2x4x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<2x2x1xf32>, tensor<2x4x1x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>) -> (tensor<2x4x1x8xf32>, tensor<2x2x6x8xf16>, tensor<2x2x6x8xf32>, tensor<2x2x6xf32>, tensor<2x2x6xi32>, tensor<2x2x2x9xf32>, tensor<2x2x2x9xi32>, tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>)
  return
}

