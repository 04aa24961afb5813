// RUN: sparsek-opt %s -sparsek-checked-entry-points | FileCheck %s

// Static sizes of the signature; an identity-layout destination must be a
// dense view (offset 0, row-major strides): status 1 for sizes, 2 for a
// layout.
// CHECK-LABEL: func.func @layer(
// CHECK-LABEL: func.func @layer_checked
// CHECK-SAME: (%[[Q:.*]]: tensor<?x?xf32>, %[[OUT:.*]]: memref<?xf32, strided<[?], offset: ?>>) -> i32 attributes {llvm.emit_c_interface}
// CHECK-DAG: tensor.dim %[[Q]], %{{.*}} : tensor<?x?xf32>
// CHECK-DAG: memref.dim %[[OUT]], %{{.*}} : memref<?xf32, strided<[?], offset: ?>>
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}, %[[STRIDE:.*]] = memref.extract_strided_metadata %[[OUT]]
// CHECK: arith.cmpi eq, %[[OFF]], %{{.*}}
// CHECK: arith.cmpi eq, %[[STRIDE]], %{{.*}}
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i32
// CHECK: %[[L:.*]] = arith.select %{{.*}}, %[[C0]], %[[C2]] : i32
// CHECK: %[[C1:.*]] = arith.constant 1 : i32
// CHECK: %[[S:.*]] = arith.select %{{.*}}, %[[L]], %[[C1]] : i32
// CHECK: scf.if
// CHECK: %[[QC:.*]] = tensor.cast %[[Q]] : tensor<?x?xf32> to tensor<2x?xf32>
// CHECK: %[[OC:.*]] = memref.cast %[[OUT]] : memref<?xf32, strided<[?], offset: ?>> to memref<8xf32>
// CHECK: func.call @layer(%[[QC]], %[[OC]])
// CHECK: return %[[S]] : i32
func.func @layer(%q: tensor<2x?xf32>, %out: memref<8xf32>) {
  return
}

// A strided destination takes any view: no layout check.
// CHECK-LABEL: func.func @strided_checked
// CHECK-NOT: extract_strided_metadata
// CHECK: memref.cast %{{.*}} : memref<?xf32, strided<[?], offset: ?>> to memref<?xf32, strided<[?], offset: ?>>
// CHECK: return
func.func @strided(%q: tensor<?xf32>, %out: memref<?xf32, strided<[?], offset: ?>>) {
  return
}

// The op's size rules on dynamic sizes, traced to the arguments: q against
// key (batch, head dim), out against q (query length), Hq a multiple of
// Hkv (no division by zero), N <= M.
// CHECK-LABEL: func.func @attention_checked
// CHECK-SAME: (%[[AQ:[^:]*]]: tensor<?x?x?x?xf32>, %[[AK:[^:]*]]: tensor<?x?x?x?xf32>, %{{.*}}: tensor<?x?x?x?xf32>, %{{.*}}: tensor<?x?x?xf32>, %[[AO:[^:]*]]: memref
// CHECK-DAG: %[[QB:.*]] = tensor.dim %[[AQ]], %c0{{.*}} : tensor<?x?x?x?xf32>
// CHECK-DAG: %[[KB:.*]] = tensor.dim %[[AK]], %c0{{.*}} : tensor<?x?x?x?xf32>
// CHECK-DAG: arith.cmpi eq, %[[QB]], %[[KB]] : index
// CHECK-DAG: %[[ON:.*]] = memref.dim %[[AO]], %c2
// CHECK-DAG: arith.remui
// CHECK-DAG: arith.cmpi ule, %{{.*}}, %{{.*}} : index
// CHECK: func.call @attention(
func.func @attention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>, %u: tensor<?x?x?xf32>, %out: memref<?x?x?x?xf32>) {
  %o = "sparsek.attention"(%q, %k, %v, %u) {k = 4 : i64, window = 2 : i64} : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?x?xf32>
  bufferization.materialize_in_destination %o in restrict writable %out : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  return
}

// block_select's blocks: NB = ceil(N / block_size) on the run-time sizes.
// CHECK-LABEL: func.func @blocks_checked
// CHECK: arith.ceildivui %{{.*}}, %c4
// CHECK: func.call @blocks(
func.func @blocks(%u: tensor<?x?x?xf32>, %o0: memref<?x?x?xf32>, %o1: memref<?x?x?x?xi32>) {
  %a, %b, %c, %d, %e = "sparsek.block_select"(%u) {k = 8 : i64, window = 16 : i64, block_size = 4 : i64}
      : (tensor<?x?x?xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xi32>, tensor<?x?x64xf32>, tensor<?x?x?x11xi32>, tensor<?x?x16xi32>)
  %a2 = tensor.cast %a : tensor<?x?x64xf32> to tensor<?x?x?xf32>
  bufferization.materialize_in_destination %a2 in restrict writable %o0 : (tensor<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  %d2 = tensor.cast %d : tensor<?x?x?x11xi32> to tensor<?x?x?x?xi32>
  bufferization.materialize_in_destination %d2 in restrict writable %o1 : (tensor<?x?x?x?xi32>, memref<?x?x?x?xi32>) -> ()
  return
}

// Functions with results, private functions and non-shaped arguments are
// left alone: nothing to check, or no C caller.
// CHECK-NOT: @with_result_checked
// CHECK-NOT: @private_checked
// CHECK-NOT: @scalar_checked
func.func @with_result(%q: tensor<2xf32>) -> tensor<2xf32> {
  return %q : tensor<2xf32>
}
func.func private @private(%q: tensor<2xf32>) {
  return
}
func.func @scalar(%x: f32) {
  return
}
