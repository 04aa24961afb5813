// Force-included into sparsek's code in the ASan build (SPARSEK_SANITIZE).
//
// LLVM's BumpPtrAllocator (llvm/Support/Allocator.h) poisons and unpoisons
// its slabs when the translation unit is built with ASan. Debian's
// libLLVM/libMLIR are not: memory that an allocator inlined into sparsek's
// code poisoned, libMLIR's own copy of the allocator hands out without
// unpoisoning, and ASan reports the first write there (the fuzzer's first
// "finding" was exactly this, inside MLIR's attribute uniquer). Turn the
// allocator's manual poisoning off in our code; ASan still checks every
// access of ours against malloc, stack and global bounds.
#ifndef SPARSEK_CMAKE_ASANNOUSERPOISONING_H
#define SPARSEK_CMAKE_ASANNOUSERPOISONING_H
#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))
#endif
