//===- sparsek-fuzz-replay.cpp - run saved fuzz inputs ----------*- C++ -*-===//
//
//   sparsek-fuzz-replay FILE...
//
// Runs each file through exactly what the fuzzer runs (FuzzTarget.h), in
// any build (no libFuzzer needed): the fuzzer's findings, kept under
// test/Fuzz/, are regression tests. Prints how far each input got; a crash
// or an abort is the failure.
//
//===----------------------------------------------------------------------===//

#include "FuzzTarget.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (argc < 2) {
    llvm::errs() << "usage: sparsek-fuzz-replay FILE...\n";
    return 2;
  }
  static const char *const kStages[] = {"no parse", "invalid", "ran passes"};
  for (int i = 1; i < argc; ++i) {
    auto buf = llvm::MemoryBuffer::getFile(argv[i]);
    if (!buf) {
      llvm::errs() << "sparsek-fuzz-replay: cannot read " << argv[i] << "\n";
      return 2;
    }
    int stage = sparsek::fuzz::runOne(
        reinterpret_cast<const uint8_t *>((*buf)->getBufferStart()),
        (*buf)->getBufferSize(), /*all=*/true);
    llvm::outs() << argv[i] << ": " << kStages[stage] << "\n";
  }
  return 0;
}
