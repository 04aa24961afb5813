// sparsek.kernel_call (internal, convert-sparsek-to-gpu's launches on
// tensors): round trip, its verifier, and its bufferization: inputs read,
// inits written in place into their buffers (a call of the stub, each
// buffer cast to the stub's argument type; no copy when nothing else reads
// the init), a copy when the init is read afterwards.
// RUN: sparsek-opt %s -split-input-file -verify-diagnostics | FileCheck %s
// RUN: sparsek-opt %s -split-input-file -verify-diagnostics --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

func.func private @stub(memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>)

// CHECK-LABEL: func.func @in_place
// CHECK: %[[R:.*]] = sparsek.kernel_call @stub(%{{.*}} : tensor<4xf32>) into(%{{.*}} : tensor<4xf32>) -> tensor<4xf32>
// BUF-LABEL: func.func @in_place
// BUF-NOT: memref.alloc
// BUF: %[[A:.*]] = memref.cast %arg0
// BUF: %[[B:.*]] = memref.cast %arg1
// BUF: call @stub(%[[A]], %[[B]])
// BUF: return %arg1
func.func @in_place(%x: tensor<4xf32>, %s: tensor<4xf32>) -> tensor<4xf32> {
  %r = sparsek.kernel_call @stub(%x : tensor<4xf32>) into(%s : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// BUF-LABEL: func.func @init_read_after
// BUF: %[[COPY:.*]] = memref.alloc
// BUF: memref.copy %arg1, %[[COPY]]
// BUF: call @stub
func.func @init_read_after(%x: tensor<4xf32>, %s: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %r = sparsek.kernel_call @stub(%x : tensor<4xf32>) into(%s : tensor<4xf32>) -> tensor<4xf32>
  return %r, %s : tensor<4xf32>, tensor<4xf32>
}

// -----

func.func private @stub(memref<?xf32, strided<[?], offset: ?>>)

func.func @result_type(%s: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{result 0 must have the type of init 0, got 'tensor<5xf32>' and 'tensor<4xf32>'}}
  %r = sparsek.kernel_call @stub() into(%s : tensor<4xf32>) -> tensor<5xf32>
  return %r : tensor<5xf32>
}
