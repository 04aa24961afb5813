// Hardening issue, defect 1: a rank-1 mask crashed every lowering.
func.func @mask(%z: tensor<8xf32>, %zd: tensor<?xf32>) -> (tensor<8xf32>, tensor<f32>, tensor<?xf32>, tensor<f32>) {
  %p, %t = sparsek.mask %z k = 3 : (tensor<8xf32>) -> (tensor<8xf32>, tensor<f32>)
  %pd, %td = sparsek.mask %zd k = 3 : (tensor<?xf32>) -> (tensor<?xf32>, tensor<f32>)
  return %p, %t, %pd, %td : tensor<8xf32>, tensor<f32>, tensor<?xf32>, tensor<f32>
}
