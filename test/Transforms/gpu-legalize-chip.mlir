// sparsek-gpu-legalize-chip: for a chip before sm_90 the Hopper-only hints
// (nvvm.prefetch, nvvm.griddepcontrol) go from every GPU module; below PTX
// ISA 8.0 the prefetches go, below 7.8 griddepcontrol too; for sm_90 and
// newer with PTX 8.0 nothing changes. A chip that is not sm_<number> is
// refused.
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_80" | FileCheck %s --check-prefix=OLD --implicit-check-not=nvvm.
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_90a" | FileCheck %s --check-prefix=NEW
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_90 ptx=78" | FileCheck %s --check-prefix=PTX78 --implicit-check-not=nvvm.prefetch
// RUN: sparsek-opt %s --sparsek-gpu-legalize-chip="chip=sm_90 ptx=70" | FileCheck %s --check-prefix=OLD --implicit-check-not=nvvm.
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
// PTX78-LABEL: gpu.func @k
// PTX78-NEXT: nvvm.griddepcontrol wait
// PTX78-NEXT: gpu.thread_id
// PTX78-NEXT: nvvm.griddepcontrol launch_dependents
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
