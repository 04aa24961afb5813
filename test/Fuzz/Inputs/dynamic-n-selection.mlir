// threshold/topk with a dynamic N: a diagnostic, no crash.
func.func @sel(%u: tensor<?x?x?xf32>) -> (tensor<?x?x?xf32>, tensor<?x?x?x4xi32>) {
  %t = sparsek.threshold %u k = 4, window = 0 : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %i = sparsek.topk %u k = 4, window = 0 : (tensor<?x?x?xf32>) -> tensor<?x?x?x4xi32>
  return %t, %i : tensor<?x?x?xf32>, tensor<?x?x?x4xi32>
}
