//===- SparseK.cpp - SPEC 2: the SPARSEK operator ---------------*- C++ -*-===//

#include "PrefixThreshold.h"
#include "sparsek/Reference/Reference.h"

#include <algorithm>

namespace sparsek::ref {

double sparsekThreshold(const double *z, int64_t n, int64_t k) {
  if (n <= k)
    return kNegInf;
  PrefixThreshold pt(z, n);
  for (int64_t j = 0; j < n; ++j)
    pt.insert(j);
  return pt.tau(k);
}

double sparsek(const double *z, int64_t n, int64_t k, double *p) {
  double tau = sparsekThreshold(z, n, k);
  for (int64_t j = 0; j < n; ++j)
    p[j] = softWeight(z[j], tau);
  return tau;
}

void sparsekRows(const std::vector<double> &z, int64_t rows, int64_t n,
                 int64_t k, std::vector<double> &p, std::vector<double> &tau) {
  p.assign(rows * n, 1.0);
  tau.assign(rows, kNegInf);
  for (int64_t r = 0; r < rows; ++r)
    tau[r] = sparsek(z.data() + (r * n), n, k, p.data() + (r * n));
}

std::vector<double> sparsekGradient(const std::vector<double> &p,
                                    const std::vector<double> &g) {
  double sum = 0;
  int64_t count = 0;
  for (size_t j = 0; j < p.size(); ++j)
    if (p[j] > 0 && p[j] < 1) {
      sum += g[j];
      ++count;
    }
  std::vector<double> dz(p.size(), 0.0);
  for (size_t j = 0; j < p.size(); ++j)
    if (p[j] > 0 && p[j] < 1)
      dz[j] = g[j] - sum / static_cast<double>(count);
  return dz;
}

} // namespace sparsek::ref
