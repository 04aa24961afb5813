//===- CallScopeTest.cpp - the caller's stream and workspace -------------===//
//
// sparsekCudaBeginCall/EndCall (sparsek-c/CudaRuntime.h) without a GPU:
// inside a call scope the runtime hands out the caller's stream, skips
// synchronizing it and carves device buffers from the caller's workspace,
// none of which touches the driver. The workspace here is host memory the
// runtime never dereferences.
//
//===----------------------------------------------------------------------===//

#include "sparsek-c/CudaRuntime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

void *fakeStream() { return reinterpret_cast<void *>(uintptr_t(0x5eed0)); }

uintptr_t addr(void *p) { return reinterpret_cast<uintptr_t>(p); }

class CallScopeTest : public ::testing::Test {
protected:
  void SetUp() override {
    sparsekCudaSetVerbose(0);
    sparsekCudaResetStatus();
    // 4 KiB of usable space after aligning the start to 256 bytes.
    storage.resize(4096 + 256);
    uintptr_t a = (addr(storage.data()) + 255) & ~uintptr_t(255);
    base = reinterpret_cast<char *>(a);
  }
  void TearDown() override { sparsekCudaSetVerbose(1); }
  std::vector<char> storage;
  char *base = nullptr;
};

TEST_F(CallScopeTest, StreamIsTheCallersAndIsNeverSynchronized) {
  sparsekCudaBeginCall(fakeStream(), nullptr, 0);
  EXPECT_EQ(mgpuStreamCreate(), fakeStream());
  mgpuStreamSynchronize(fakeStream());
  mgpuStreamDestroy(fakeStream());
  EXPECT_EQ(sparsekCudaEndCall(), 0u);
  // None of them reached the driver (no device here: that would fail).
  EXPECT_EQ(sparsekCudaGetStatus(), 0);
}

TEST_F(CallScopeTest, BuffersAreAlignedSlicesOfTheWorkspace) {
  sparsekCudaBeginCall(fakeStream(), base, 4096);
  void *a = mgpuMemAlloc(100, fakeStream(), false);
  void *b = mgpuMemAlloc(300, fakeStream(), false);
  void *c = mgpuMemAlloc(1, fakeStream(), false);
  EXPECT_EQ(addr(a), addr(base));
  EXPECT_EQ(addr(b), addr(base) + 256);
  EXPECT_EQ(addr(c), addr(base) + 256 + 512);
  mgpuMemFree(c, fakeStream());
  mgpuMemFree(b, fakeStream());
  mgpuMemFree(a, fakeStream());
  EXPECT_EQ(sparsekCudaEndCall(), 256u + 512u + 256u);
  EXPECT_EQ(sparsekCudaGetStatus(), 0);
}

TEST_F(CallScopeTest, FreedTopIsReusedAndHolesWaitForTheTop) {
  sparsekCudaBeginCall(fakeStream(), base, 4096);
  void *a = mgpuMemAlloc(256, fakeStream(), false);
  void *b = mgpuMemAlloc(256, fakeStream(), false);
  // A hole (a) is not reused while b sits above it.
  mgpuMemFree(a, fakeStream());
  void *c = mgpuMemAlloc(256, fakeStream(), false);
  EXPECT_EQ(addr(c), addr(base) + 512);
  // Freeing the top pops it and the hole below it.
  mgpuMemFree(c, fakeStream());
  mgpuMemFree(b, fakeStream());
  void *d = mgpuMemAlloc(512, fakeStream(), false);
  EXPECT_EQ(addr(d), addr(base));
  mgpuMemFree(d, fakeStream());
  EXPECT_EQ(sparsekCudaEndCall(), 768u);
}

TEST_F(CallScopeTest, UnalignedWorkspaceStartsAtTheNextBoundary) {
  sparsekCudaBeginCall(fakeStream(), base + 8, 4096);
  void *a = mgpuMemAlloc(3000, fakeStream(), false);
  EXPECT_EQ(addr(a), addr(base) + 256);
  mgpuMemFree(a, fakeStream());
  sparsekCudaEndCall();
}

TEST_F(CallScopeTest, OverflowGoesToThePoolAndCountsInThePeak) {
  sparsekCudaBeginCall(fakeStream(), base, 4096);
  void *a = mgpuMemAlloc(4096, fakeStream(), false);
  EXPECT_EQ(addr(a), addr(base));
  // Does not fit: the pool (no device here, so no buffer and a status).
  EXPECT_EQ(mgpuMemAlloc(16, fakeStream(), false), nullptr);
  mgpuMemFree(a, fakeStream());
  EXPECT_EQ(sparsekCudaEndCall(), 4096u);
  if (!sparsekCudaDriverAvailable()) {
    EXPECT_NE(sparsekCudaGetStatus(), 0);
  }
}

TEST_F(CallScopeTest, EndCallLeavesTheScope) {
  sparsekCudaBeginCall(fakeStream(), base, 4096);
  EXPECT_NE(mgpuMemAlloc(64, fakeStream(), false), nullptr);
  sparsekCudaEndCall();
  // Outside a scope: the runtime's own stream (none without a device).
  if (!sparsekCudaDriverAvailable()) {
    EXPECT_EQ(mgpuStreamCreate(), nullptr);
  }
  // A new scope starts at the bottom with a zero peak.
  sparsekCudaBeginCall(nullptr, base, 4096);
  void *a = mgpuMemAlloc(64, nullptr, false);
  EXPECT_EQ(addr(a), addr(base));
  mgpuMemFree(a, nullptr);
  EXPECT_EQ(sparsekCudaEndCall(), 256u);
}

} // namespace
