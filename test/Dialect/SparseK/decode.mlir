// sparsek.decode_prefill and sparsek.decode_step: the custom form round-trips,
// the generic form parses to the same op, dynamic sizes verify, and both
// are destination-passing (results tied to the state inits).
// RUN: sparsek-opt %s | sparsek-opt | FileCheck %s
// RUN: sparsek-opt %s --mlir-print-op-generic | sparsek-opt | FileCheck %s

// CHECK-LABEL: func.func @prefill
// CHECK: sparsek.decode_prefill %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} k = 4, window = 8 : tensor<2x2x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100xf32>, tensor<2xi32> into tensor<2x2x12x64xbf16>
func.func @prefill(%key: tensor<2x2x100x64xbf16>, %value: tensor<2x2x100x64xbf16>,
                   %u: tensor<2x2x100xf32>, %plen: tensor<2xi32>,
                   %k0: tensor<2x2x12x64xbf16>, %v0: tensor<2x2x12x64xbf16>,
                   %s0: tensor<2x2x12xf32>, %p0: tensor<2x2x12xi32>,
                   %bs0: tensor<2x2x2x69xf32>, %bp0: tensor<2x2x2x69xi32>,
                   %t0: tensor<2x2x3xf64>, %c0: tensor<2x2x3xi32>,
                   %l0: tensor<2xi32>) -> tensor<2x2x3xf64> {
  %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
    sparsek.decode_prefill %key, %value, %u, %plen
      into %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0 k = 4, window = 8
      : tensor<2x2x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100xf32>,
        tensor<2xi32>
      into tensor<2x2x12x64xbf16>, tensor<2x2x12x64xbf16>, tensor<2x2x12xf32>,
        tensor<2x2x12xi32>, tensor<2x2x2x69xf32>, tensor<2x2x2x69xi32>,
        tensor<2x2x3xf64>, tensor<2x2x3xi32>, tensor<2xi32>
  return %thr : tensor<2x2x3xf64>
}

// CHECK-LABEL: func.func @step_dynamic
// CHECK: sparsek.decode_step %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} k = 64, window = 512 {gate = #sparsek.gate<logit>, scale = 1.250000e-01 : f64} : tensor<?x?x1x?xf16>
func.func @step_dynamic(%q: tensor<?x?x1x?xf16>, %key: tensor<?x?x1x?xf16>,
                        %value: tensor<?x?x1x?xf16>, %u: tensor<?x?x1xf32>,
                        %o0: tensor<?x?x1x?xf16>, %k0: tensor<?x?x576x?xf16>,
                        %v0: tensor<?x?x?x?xf16>, %s0: tensor<?x?x576xf32>,
                        %p0: tensor<?x?x?xi32>, %bs0: tensor<?x?x2x?xf32>,
                        %bp0: tensor<?x?x2x?xi32>, %t0: tensor<?x?x3xf64>,
                        %c0: tensor<?x?x3xi32>, %l0: tensor<?xi32>)
    -> tensor<?x?x1x?xf16> {
  %o, %keys, %values, %scores, %pos, %bs, %bp, %thr, %cnt, %len =
    sparsek.decode_step %q, %key, %value, %u
      into %o0, %k0, %v0, %s0, %p0, %bs0, %bp0, %t0, %c0, %l0
      k = 64, window = 512 {gate = #sparsek.gate<logit>, scale = 0.125 : f64}
      : tensor<?x?x1x?xf16>, tensor<?x?x1x?xf16>, tensor<?x?x1x?xf16>,
        tensor<?x?x1xf32>
      into tensor<?x?x1x?xf16>, tensor<?x?x576x?xf16>, tensor<?x?x?x?xf16>,
        tensor<?x?x576xf32>, tensor<?x?x?xi32>, tensor<?x?x2x?xf32>,
        tensor<?x?x2x?xi32>, tensor<?x?x3xf64>, tensor<?x?x3xi32>,
        tensor<?xi32>
  return %o : tensor<?x?x1x?xf16>
}
