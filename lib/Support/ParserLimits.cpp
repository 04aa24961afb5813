//===- ParserLimits.cpp - inputs MLIR's parser must not see ---------------===//
//
// See ParserLimits.h for the rule and why it exists.
//
//===----------------------------------------------------------------------===//

#include "sparsek/Support/ParserLimits.h"

#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

#include <cctype>
#include <string>

using namespace llvm;

namespace mlir {
namespace sparsek {

/// Characters of an SSA name after `%` (the lexer's suffix-id set).
static bool isSuffixIdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         c == '.' || c == '-';
}

bool checkParserLimits(
    StringRef text,
    function_ref<void(size_t offset, const Twine &message)> report) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      // A comment runs to the end of the line.
      while (i < n && text[i] != '\n')
        ++i;
      continue;
    }
    if (c == '"') {
      // A string literal: skip escapes, stop at the closing quote or the end
      // of the line (the lexer's own rule for unterminated strings).
      ++i;
      while (i < n && text[i] != '"' && text[i] != '\n')
        i += text[i] == '\\' ? 2 : 1;
      ++i;
      continue;
    }
    if (c != '%') {
      ++i;
      continue;
    }
    size_t start = i++;
    while (i < n && isSuffixIdChar(text[i]))
      ++i;
    if (i + 1 >= n || text[i] != '#' ||
        !std::isdigit(static_cast<unsigned char>(text[i + 1])))
      continue;
    size_t digits = ++i;
    // Saturating value: anything at or above the input size is an error, so
    // stop accumulating once it is reached (no overflow on long numbers).
    size_t value = 0;
    while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (value < n)
        value = value * 10 + static_cast<size_t>(text[i] - '0');
      ++i;
    }
    if (value < n)
      continue;
    StringRef use = text.slice(start, i);
    std::string shown = use.size() > 64 ? (use.take_front(61) + "...").str()
                                        : use.str();
    report(start, "result number " + text.slice(digits, i) + " in '" + shown +
                      "' is not below the input's size (" + Twine(n) +
                      " bytes): an operation written in " + Twine(n) +
                      " bytes has fewer results than that. Rejected before "
                      "MLIR's parser, which would reserve a slot for every "
                      "result number up to this one");
    return false;
  }
  return true;
}

bool checkParserLimits(SourceMgr &sourceMgr) {
  const MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  StringRef text = buffer->getBuffer();
  return checkParserLimits(text, [&](size_t offset, const Twine &message) {
    sourceMgr.PrintMessage(SMLoc::getFromPointer(text.data() + offset),
                           SourceMgr::DK_Error, message);
  });
}

} // namespace sparsek
} // namespace mlir
