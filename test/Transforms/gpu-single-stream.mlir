// sparsek-gpu-single-stream: the host code's per-region streams become one
// stream per call, synchronized after copies the host may read and before
// returning; a function using a stream it did not create is left alone.
// RUN: sparsek-opt %s -split-input-file --sparsek-gpu-single-stream | FileCheck %s

module attributes {gpu.container_module} {
  gpu.binary @k [#gpu.object<#nvvm.target, "">]
  llvm.func @mgpuStreamCreate() -> !llvm.ptr
  llvm.func @mgpuStreamSynchronize(!llvm.ptr)
  llvm.func @mgpuStreamDestroy(!llvm.ptr)
  llvm.func @mgpuMemAlloc(i64, !llvm.ptr, i8) -> !llvm.ptr
  llvm.func @mgpuMemFree(!llvm.ptr, !llvm.ptr)
  llvm.func @mgpuMemcpy(!llvm.ptr, !llvm.ptr, i64, !llvm.ptr)

  // CHECK-LABEL: llvm.func @layer
  // CHECK-NEXT: %[[S:.*]] = llvm.call @mgpuStreamCreate()
  // CHECK-NOT: mgpuStreamCreate
  // CHECK: llvm.call @mgpuMemAlloc(%{{.*}}, %[[S]], %{{.*}})
  // CHECK: gpu.launch_func <%[[S]] : !llvm.ptr> @k::@f
  // CHECK-NOT: mgpuStreamSynchronize
  // CHECK: ^bb1:
  // CHECK: gpu.launch_func <%[[S]] : !llvm.ptr> @k::@f
  // CHECK-NEXT: llvm.call @mgpuMemcpy(%{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
  // CHECK-NEXT: llvm.call @mgpuStreamSynchronize(%[[S]])
  // CHECK-NEXT: llvm.call @mgpuMemFree(%{{.*}}, %[[S]])
  // CHECK-NEXT: llvm.call @mgpuStreamSynchronize(%[[S]])
  // CHECK-NEXT: llvm.call @mgpuStreamDestroy(%[[S]])
  // CHECK-NEXT: llvm.return
  llvm.func @layer(%n: i64, %host: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : index) : i64
    %z = llvm.mlir.constant(0 : i8) : i8
    %s1 = llvm.call @mgpuStreamCreate() : () -> !llvm.ptr
    %m = llvm.call @mgpuMemAlloc(%n, %s1, %z) : (i64, !llvm.ptr, i8) -> !llvm.ptr
    gpu.launch_func <%s1 : !llvm.ptr> @k::@f blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%n : i64)
    llvm.call @mgpuStreamSynchronize(%s1) : (!llvm.ptr) -> ()
    llvm.call @mgpuStreamDestroy(%s1) : (!llvm.ptr) -> ()
    llvm.br ^bb1
  ^bb1:
    %s2 = llvm.call @mgpuStreamCreate() : () -> !llvm.ptr
    gpu.launch_func <%s2 : !llvm.ptr> @k::@f blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%n : i64)
    llvm.call @mgpuMemcpy(%host, %m, %n, %s2) : (!llvm.ptr, !llvm.ptr, i64, !llvm.ptr) -> ()
    llvm.call @mgpuStreamSynchronize(%s2) : (!llvm.ptr) -> ()
    llvm.call @mgpuMemFree(%m, %s2) : (!llvm.ptr, !llvm.ptr) -> ()
    llvm.call @mgpuStreamDestroy(%s2) : (!llvm.ptr) -> ()
    llvm.return
  }

  // A launch on a stream the function did not create (here: none, the
  // null stream) keeps every synchronization.
  // CHECK-LABEL: llvm.func @foreign
  // CHECK: %[[A:.*]] = llvm.call @mgpuStreamCreate()
  // CHECK: llvm.call @mgpuStreamSynchronize(%[[A]])
  // CHECK: llvm.call @mgpuStreamDestroy(%[[A]])
  llvm.func @foreign(%n: i64, %p: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : index) : i64
    %a = llvm.call @mgpuStreamCreate() : () -> !llvm.ptr
    gpu.launch_func <%p : !llvm.ptr> @k::@f blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%n : i64)
    llvm.call @mgpuStreamSynchronize(%a) : (!llvm.ptr) -> ()
    llvm.call @mgpuStreamDestroy(%a) : (!llvm.ptr) -> ()
    llvm.return
  }
}
