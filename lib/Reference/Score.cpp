//===- Score.cpp - SPEC 1: the scoring network ------------------*- C++ -*-===//

#include "sparsek/Reference/Reference.h"

namespace sparsek::ref {

std::vector<double> score(const std::vector<double> &x,
                          const std::vector<double> &w,
                          const std::vector<double> &bias, int64_t batch,
                          int64_t m, int64_t c, int64_t h, double slope) {
  std::vector<double> u(batch * h * m);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t hh = 0; hh < h; ++hh)
      for (int64_t j = 0; j < m; ++j) {
        double acc = 0;
        const double *xr = x.data() + (b * m + j) * c, *wr = w.data() + (hh * c);
        for (int64_t cc = 0; cc < c; ++cc)
          acc += xr[cc] * wr[cc];
        if (!bias.empty())
          acc += bias[hh];
        u[(b * h + hh) * m + j] = acc + slope * static_cast<double>(j);
      }
  return u;
}

} // namespace sparsek::ref
