//===- sparsek-fuzz.cpp - libFuzzer target for sparsek ----------*- C++ -*-===//
//
// Arbitrary bytes as a module: parse, verify, and every sparsek pass and
// pipeline on what verifies (FuzzTarget.h). The custom mutator changes
// sizes, attributes, element types, gates and op names of valid modules
// half of the time, and flips bytes (libFuzzer's own mutations) otherwise.
//
//   sparsek-fuzz CORPUS_DIR -dict=tools/sparsek-fuzz/sparsek.dict
//   (scripts/fuzz.sh builds the corpus from test/ and runs it)
//
//===----------------------------------------------------------------------===//

#include "FuzzTarget.h"

#include <cstddef>
#include <cstdint>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size,
                                   size_t maxSize);

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  sparsek::fuzz::initialize();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sparsek::fuzz::runOne(data, size, /*all=*/false);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,
                                          size_t maxSize, unsigned seed) {
  if (seed % 2 == 0)
    if (size_t n = sparsek::fuzz::mutate(data, size, maxSize, seed))
      return n;
  return LLVMFuzzerMutate(data, size, maxSize);
}
