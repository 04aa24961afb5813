//===- Tuning.cpp - the kernels' tuning table -----------------------------===//
//
// Parsing and lookup of the tuning table (Tuning.h).
//
//===----------------------------------------------------------------------===//

#include "Tuning.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"


namespace mlir::sparsek::tuning {

namespace {

/// The built-in table's text (TuningTable.txt, embedded at configure time).
#include "TuningTable.inc"

/// Parameters each kind takes, with their allowed ranges.
constexpr Param kParams[] = {
    {"attention", "block-size", 16, 1024, 16},
    {"attention", "key-tile", 16, 64, 16},
    {"attention", "ping-pong", 0, 1, 1},
    {"attention", "wgmma", 0, 1, 1},
    {"attention", "backward-key-tile", 16, 64, 16},
    {"decode", "phase1-tiles", 0, 64, 1},
    {"decode", "pre-issue", 1, 2, 1},
    {"decode", "fused-lengths", 0, 1, 1},
    {"decode", "min-blocks", 0, 8, 1},
    {"decode", "target-blocks", 1, 65536, 1},
};

bool knownKind(llvm::StringRef kind) {
  return llvm::any_of(kParams, [&](const Param &p) { return kind == p.kind; });
}

} // namespace

const Param *findParam(llvm::StringRef kind, llvm::StringRef name) {
  const Param *p = llvm::find_if(kParams, [&](const Param &p) {
    return kind == p.kind && name == p.name;
  });
  return p == std::end(kParams) ? nullptr : p;
}

void Key::print(llvm::raw_ostream &os) const {
  auto num = [&](const char *name, int64_t v) {
    os << " " << name;
    if (v < 0)
      os << "?";
    else
      os << v;
  };
  os << kind << " " << (chip.empty() ? "?" : chip) << " "
     << (elem.empty() ? "?" : elem);
  num("d", d);
  num("dv", dv);
  num("k", k);
  num("w", window);
  num("group", group);
}

int Entry::specificity() const {
  return !key.chip.empty() + !key.elem.empty() + (key.d >= 0) +
         (key.dv >= 0) + (key.k >= 0) + (key.window >= 0) + (key.group >= 0);
}

bool Entry::matches(const Key &k) const {
  auto str = [](const std::string &mine, const std::string &theirs) {
    return mine.empty() || mine == theirs;
  };
  // A line for sm_90 also serves sm_90a (the architecture-specific
  // variant runs everything the base chip's code does).
  auto chipOf = [&](const std::string &mine, const std::string &theirs) {
    return str(mine, theirs) ||
           (theirs.size() == mine.size() + 1 &&
            llvm::StringRef(theirs).starts_with(mine) &&
            llvm::isLower(theirs.back()));
  };
  auto num = [](int64_t mine, int64_t theirs) {
    return mine < 0 || mine == theirs;
  };
  return key.kind == k.kind && chipOf(key.chip, k.chip) &&
         str(key.elem, k.elem) && num(key.d, k.d) && num(key.dv, k.dv) &&
         num(key.k, k.k) && num(key.window, k.window) &&
         num(key.group, k.group);
}

std::optional<Table> Table::parse(llvm::StringRef text, llvm::StringRef name,
                                  std::string &error) {
  Table table;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (auto [i, raw] : llvm::enumerate(lines)) {
    auto fail = [&, i = i](const llvm::Twine &rule) {
      error = llvm::formatv("{0}:{1}: ", name, i + 1).str() + rule.str();
      return std::nullopt;
    };
    llvm::StringRef line = raw.split('#').first.trim();
    if (line.empty())
      continue;
    auto [keyText, paramText] = line.split('|');
    if (keyText.size() == line.size())
      return fail("expected `kind chip elem d dv k window group | "
                  "name=value ...`");
    llvm::SmallVector<llvm::StringRef> keys;
    llvm::SplitString(keyText, keys);
    if (keys.size() != 8)
      return fail(llvm::formatv("expected 8 keys (kind chip elem d dv k "
                                "window group), got {0}",
                                keys.size()));
    Entry e;
    e.origin = llvm::formatv("{0}:{1}", name, i + 1).str();
    e.key.kind = keys[0].str();
    if (!knownKind(keys[0]))
      return fail("unknown kind '" + keys[0] + "' (attention or decode)");
    if (keys[1] != "*")
      e.key.chip = keys[1].str();
    if (keys[2] != "*") {
      if (keys[2] != "f32" && keys[2] != "f16" && keys[2] != "bf16")
        return fail("unknown element type '" + keys[2] +
                    "' (f32, f16, bf16 or *)");
      e.key.elem = keys[2].str();
    }
    int64_t *nums[] = {&e.key.d, &e.key.dv, &e.key.k, &e.key.window,
                       &e.key.group};
    const char *numNames[] = {"d", "dv", "k", "window", "group"};
    for (int j = 0; j < 5; ++j) {
      llvm::StringRef t = keys[3 + j];
      if (t == "*")
        continue;
      int64_t v;
      if (t.getAsInteger(10, v) || v < 0 || v > (int64_t(1) << 30))
        return fail(llvm::Twine("key ") + numNames[j] +
                    ": expected * or an integer in [0, 2^30], got '" + t +
                    "'");
      *nums[j] = v;
    }
    llvm::SmallVector<llvm::StringRef> words;
    llvm::SplitString(paramText, words);
    if (words.empty())
      return fail("no parameters after `|`");
    for (llvm::StringRef w : words) {
      auto [pname, pvalue] = w.split('=');
      const Param *spec = findParam(e.key.kind, pname);
      if (!spec)
        return fail("unknown parameter '" + pname + "' of kind " +
                    e.key.kind);
      int64_t v;
      if (pvalue.getAsInteger(10, v) || v < spec->lo || v > spec->hi ||
          v % spec->multiple)
        return fail(llvm::formatv("{0}: expected a multiple of {1} in [{2}, "
                                  "{3}], got '{4}'",
                                  pname, spec->multiple, spec->lo, spec->hi,
                                  pvalue));
      if (!e.params.emplace(pname.str(), v).second)
        return fail("parameter '" + pname + "' given twice");
    }
    table.lines.push_back(std::move(e));
  }
  return table;
}

const Table &Table::builtin(std::string *error) {
  static std::string parseError;
  static Table table = [] {
    std::string err;
    std::optional<Table> t = parse(kBuiltinTable, "TuningTable.txt", err);
    if (!t) {
      parseError = err;
      return Table();
    }
    return std::move(*t);
  }();
  if (error)
    *error = parseError;
  return table;
}

const Entry *Table::lookup(const Key &key) const {
  const Entry *best = nullptr;
  for (const Entry &e : lines)
    if (e.matches(key) &&
        (!best || e.specificity() > best->specificity() ||
         // On a tie the line for the exact chip beats its base chip's.
         (e.specificity() == best->specificity() && e.key.chip == key.chip &&
          best->key.chip != key.chip)))
      best = &e;
  return best;
}

std::string formatParams(const std::map<std::string, int64_t> &params) {
  std::string out;
  for (const auto &[name, value] : params) {
    if (!out.empty())
      out += " ";
    out += name + "=" + std::to_string(value);
  }
  return out;
}

} // namespace mlir::sparsek::tuning
