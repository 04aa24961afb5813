// Invalid sparsek-nvvm-pipeline options are an error (non-zero exit, a
// message naming the option and the rule) before any pass runs: upstream's
// NVVM target verifier crashes on an empty chip, its serializer only prints
// a bad format, LLVM's NVPTX backend aborts on a chip it does not know or a
// PTX version below the chip's least (or one it does not know, which it
// ignores), and CUDA launches at most 1024 threads per block.
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=" 2>&1 | FileCheck %s --check-prefix=CHIP --implicit-check-not="Stack dump"
// CHIP: invalid chip '': expected sm_<digits>
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=CHIP2
// CHIP2: invalid chip 'gfx90a'
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="format=bogus" 2>&1 | FileCheck %s --check-prefix=FMT
// FMT: invalid format 'bogus': expected isa, bin or fatbin
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="block-size=-1" 2>&1 | FileCheck %s --check-prefix=BS1
// BS1: invalid block-size -1: expected 1 to 1024
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="block-size=4096" 2>&1 | FileCheck %s --check-prefix=BS2
// BS2: invalid block-size 4096
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="block-size=4294967295" 2>&1 | FileCheck %s --check-prefix=BS3
// BS3: invalid block-size 4294967295
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="opt-level=9" 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: invalid opt-level 9: expected 0 to 3
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="features=ptx80" 2>&1 | FileCheck %s --check-prefix=FEAT
// FEAT: invalid features 'ptx80'
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_95" 2>&1 | FileCheck %s --check-prefix=CHIP3 --implicit-check-not="Stack dump"
// CHIP3: unsupported chip 'sm_95': LLVM 22's NVPTX backend knows sm_50 to sm_121a
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_90 features=+ptx70" 2>&1 | FileCheck %s --check-prefix=OLDPTX --implicit-check-not="Stack dump"
// OLDPTX: features '+ptx70' too old for chip 'sm_90': it needs PTX ISA +ptx78 or newer
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_90a features=+ptx78" 2>&1 | FileCheck %s --check-prefix=OLDPTX2
// OLDPTX2: features '+ptx78' too old for chip 'sm_90a': it needs PTX ISA +ptx80 or newer
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="features=+ptx99" 2>&1 | FileCheck %s --check-prefix=NEWPTX
// NEWPTX: unsupported features '+ptx99': LLVM 22 knows PTX ISA versions +ptx32 to +ptx90
// RUN: not sparsek-opt %s --sparsek-nvvm-pipeline="chip=sm_75" 2>&1 | FileCheck %s --check-prefix=OLDCHIP --implicit-check-not="Stack dump"
// OLDCHIP: unsupported chip 'sm_75': the kernels need sm_80 or newer
// RUN: not sparsek-compile --target=cuda --chip=sm_95 %s -o %t.o 2>&1 | FileCheck %s --check-prefix=AOT2 --implicit-check-not="Stack dump"
// AOT2: unsupported chip 'sm_95'
// RUN: not sparsek-compile --target=cuda --chip= %s -o %t.o 2>&1 | FileCheck %s --check-prefix=AOT --implicit-check-not="Stack dump"
// AOT: sparsek-compile: invalid chip ''

func.func @f() {
  return
}
