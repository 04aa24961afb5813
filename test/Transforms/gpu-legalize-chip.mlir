// sparsek-gpu-legalize-chip: for a chip before sm_90 the Hopper-only hints
// (nvvm.prefetch, nvvm.griddepcontrol) go from every GPU module; for sm_90
// and newer nothing changes. A chip that is not sm_<number> is refused.
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_80" | FileCheck %s --check-prefix=OLD --implicit-check-not=nvvm.
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_90a" | FileCheck %s --check-prefix=NEW
// RUN: not sparsek-opt %s --sparsek-gpu-legalize-chip="chip=hopper" 2>&1 | FileCheck %s --check-prefix=BAD

// OLD-LABEL: gpu.func @k
// OLD-NEXT: gpu.thread_id
// OLD-NEXT: memref.load
// OLD-NEXT: memref.store
// NEW-LABEL: gpu.func @k
// NEW-NEXT: nvvm.griddepcontrol wait
// NEW-NEXT: gpu.thread_id
// NEW-NEXT: nvvm.prefetch level = L1
// NEW-NEXT: nvvm.griddepcontrol launch_dependents
// BAD: chip must be sm_<number>, not 'hopper'
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%m: memref<64xf32>, %p: !llvm.ptr<1>) kernel {
      nvvm.griddepcontrol wait
      %t = gpu.thread_id x
      nvvm.prefetch level = L1, %p : !llvm.ptr<1>
      nvvm.griddepcontrol launch_dependents
      %v = memref.load %m[%t] : memref<64xf32>
      memref.store %v, %m[%t] : memref<64xf32>
      gpu.return
    }
  }
}
