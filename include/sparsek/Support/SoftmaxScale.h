//===- SoftmaxScale.h - the default softmax scale ---------------*- C++ -*-===//
//
// SPEC section 5: without a `scale` attribute, logits are scaled by
// 1/sqrt(D). The one definition, for the dialect, its lowering (static D),
// the reference's callers and the tools. (A dynamic D is scaled by IR that
// computes the same from the run-time size.)
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_SUPPORT_SOFTMAXSCALE_H
#define SPARSEK_SUPPORT_SOFTMAXSCALE_H

#include <cmath>
#include <cstdint>

namespace sparsek {

inline double defaultSoftmaxScale(int64_t headDim) {
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

} // namespace sparsek

#endif // SPARSEK_SUPPORT_SOFTMAXSCALE_H
