//===- TuningTest.cpp - the tuning table's parser and lookup --------------===//

#include "Tuning.h"

#include "gtest/gtest.h"

using namespace mlir::sparsek::tuning;

namespace {

Key key(const char *kind, const char *elem, int64_t d, int64_t k,
        int64_t window, int64_t group) {
  Key out;
  out.kind = kind;
  out.chip = "sm_90";
  out.elem = elem;
  out.d = out.dv = d;
  out.k = k;
  out.window = window;
  out.group = group;
  return out;
}

std::string parseError(const char *text) {
  std::string error;
  EXPECT_FALSE(Table::parse(text, "t", error).has_value()) << text;
  return error;
}

TEST(Tuning, MostSpecificLineWinsFirstOnTies) {
  std::string error;
  auto table = Table::parse(R"(
# comment
attention * * * * * * * | block-size=128 key-tile=32
attention sm_90 bf16 * * 256 512 * | block-size=64   # trailing comment
attention sm_90 bf16 128 128 256 512 4 | block-size=32 key-tile=16
attention sm_90 bf16 * * 256 512 * | block-size=16
decode * * * * * * * | phase1-tiles=3 pre-issue=1 fused-lengths=0
)",
                            "t", error);
  ASSERT_TRUE(table) << error;
  ASSERT_EQ(table->entries().size(), 5u);
  const Entry *e = table->lookup(key("attention", "bf16", 128, 256, 512, 4));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "t:5");
  EXPECT_EQ(e->params.at("key-tile"), 16);
  // Another group: the two lines of 4 keys tie; the first wins.
  e = table->lookup(key("attention", "bf16", 128, 256, 512, 2));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "t:4");
  EXPECT_EQ(e->params.at("block-size"), 64);
  // Unknown (dynamic) head dims match `*` only.
  e = table->lookup(key("attention", "bf16", -1, 256, 512, -1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "t:4");
  // Other element types and k: the catch-all.
  e = table->lookup(key("attention", "f16", 64, 8, 16, 1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "t:3");
  // Kinds never mix.
  e = table->lookup(key("decode", "bf16", 128, 256, 512, 4));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "t:7");
  EXPECT_EQ(formatParams(e->params),
            "fused-lengths=0 phase1-tiles=3 pre-issue=1");
  std::string error2;
  auto none = Table::parse("decode sm_80 * * * * * * | pre-issue=2", "u",
                           error2);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->lookup(key("decode", "bf16", 128, 4, 8, 1)), nullptr);
}

TEST(Tuning, BaseChipLinesServeTheVariantBelowItsOwn) {
  std::string error;
  auto table = Table::parse(R"(
attention sm_90 bf16 * * 256 512 * | block-size=128 key-tile=64 ping-pong=1
attention sm_90a bf16 * * 256 512 * | block-size=128 key-tile=64 wgmma=1
decode sm_90 bf16 * * 256 512 * | phase1-tiles=8
attention sm_80 * * * * * * | block-size=64
)",
                            "t", error);
  ASSERT_TRUE(table) << error;
  Key k = key("attention", "bf16", 128, 256, 512, 4);
  EXPECT_EQ(table->lookup(k)->origin, "t:2");
  k.chip = "sm_90a";
  EXPECT_EQ(table->lookup(k)->origin, "t:3");
  k.kind = "decode";
  EXPECT_EQ(table->lookup(k)->origin, "t:4");
  // Not a prefix of another chip's name: sm_80 serves neither sm_800 nor
  // sm_8.
  k.kind = "attention";
  k.chip = "sm_800";
  EXPECT_EQ(table->lookup(k), nullptr);
  k.chip = "sm_8";
  EXPECT_EQ(table->lookup(k), nullptr);
}

TEST(Tuning, MalformedLinesNameTheRuleAndLine) {
  EXPECT_EQ(parseError("\nattention * * * * * * *"),
            "t:2: expected `kind chip elem d dv k window group | "
            "name=value ...`");
  EXPECT_EQ(parseError("attention * * * * * * | block-size=64"),
            "t:1: expected 8 keys (kind chip elem d dv k window group), "
            "got 7");
  EXPECT_EQ(parseError("gemm * * * * * * * | block-size=64"),
            "t:1: unknown kind 'gemm' (attention or decode)");
  EXPECT_EQ(parseError("attention * f64 * * * * * | block-size=64"),
            "t:1: unknown element type 'f64' (f32, f16, bf16 or *)");
  EXPECT_EQ(parseError("attention * * x * * * * | block-size=64"),
            "t:1: key d: expected * or an integer in [0, 2^30], got 'x'");
  EXPECT_EQ(parseError("attention * * * * -4 * * | block-size=64"),
            "t:1: key k: expected * or an integer in [0, 2^30], got '-4'");
  EXPECT_EQ(parseError("attention * * * * * * * |"),
            "t:1: no parameters after `|`");
  EXPECT_EQ(parseError("decode * * * * * * * | key-tile=32"),
            "t:1: unknown parameter 'key-tile' of kind decode");
  EXPECT_EQ(parseError("attention * * * * * * * | key-tile=24"),
            "t:1: key-tile: expected a multiple of 16 in [16, 64], got '24'");
  EXPECT_EQ(parseError("attention * * * * * * * | block-size=99999999999999999999"),
            "t:1: block-size: expected a multiple of 16 in [16, 1024], got "
            "'99999999999999999999'");
  EXPECT_EQ(parseError("decode * * * * * * * | pre-issue=3"),
            "t:1: pre-issue: expected a multiple of 1 in [1, 2], got '3'");
  EXPECT_EQ(parseError("decode * * * * * * * | pre-issue=1 pre-issue=2"),
            "t:1: parameter 'pre-issue' given twice");
}

TEST(Tuning, BuiltinTableParsesAndCoversEveryConfiguration) {
  std::string error;
  const Table &table = Table::builtin(&error);
  EXPECT_EQ(error, "");
  for (const char *elem : {"f16", "bf16", "f32"})
    for (int64_t d : {-1, 64, 128}) {
      const Entry *a = table.lookup(key("attention", elem, d, 256, 512, -1));
      ASSERT_TRUE(a);
      EXPECT_TRUE(a->params.count("block-size"));
      EXPECT_TRUE(a->params.count("key-tile"));
      const Entry *dec = table.lookup(key("decode", elem, d, 16, 32, 8));
      ASSERT_TRUE(dec);
      for (const char *name : {"phase1-tiles", "pre-issue", "fused-lengths",
                               "min-blocks", "target-blocks"})
        EXPECT_TRUE(dec->params.count(name)) << name;
      EXPECT_EQ(dec->params.size(), 5u);
    }
}

} // namespace
