//===- Cases.cpp - sparsek-check cases, inputs, references ------*- C++ -*-===//

#include "Cases.h"

#include "sparsek/Support/Float16.h"
#include "sparsek/Support/MemRefDescriptor.h"
#include "sparsek/Support/SoftmaxScale.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <functional>
#include <sstream>

namespace sparsek::check {

const char *dtypeName(Dtype t) {
  return t == Dtype::F32 ? "f32" : t == Dtype::F16 ? "f16" : "bf16";
}

const char *gateName(ref::Gate g) {
  switch (g) {
  case ref::Gate::KV:
    return "kv";
  case ref::Gate::V:
    return "v";
  case ref::Gate::Logit:
    return "logit";
  case ref::Gate::None:
    return "none";
  }
  return "?";
}

const char *scoresName(Scores s) {
  switch (s) {
  case Scores::Uniform:
    return "uniform";
  case Scores::Ties:
    return "ties";
  case Scores::NegInf:
    return "neginf";
  case Scores::Huge:
    return "huge";
  case Scores::Equal:
    return "equal";
  case Scores::AllNegInf:
    return "allneginf";
  case Scores::Slope:
    return "slope";
  }
  return "?";
}

bool isKnownOp(const std::string &op) {
  for (const char *o : {"score", "mask", "threshold", "topk", "block_select",
                        "gathered_attention", "attention", "attention_backward",
                        "decode"})
    if (op == o)
      return true;
  return false;
}

namespace {
/// a * b, or -1 on overflow past 2^40 (both non-negative).
int64_t mulCapped(int64_t a, int64_t b) {
  const int64_t cap = int64_t(1) << 40;
  if (a < 0 || b < 0)
    return -1;
  if (a != 0 && b > cap / a)
    return -1;
  return a * b;
}
} // namespace

bool runsOnGPU(const Case &c) {
  return c.op != "decode" ||
         ((c.dtype == Dtype::F16 || c.dtype == Dtype::BF16) && c.d == c.dv &&
          (c.d == 64 || c.d == 128));
}

std::string checkCase(const Case &c) {
  if (!isKnownOp(c.op))
    return "unknown op '" + c.op +
           "' (score, mask, threshold, topk, block_select, "
           "gathered_attention, attention, attention_backward, decode)";
  struct {
    const char *name;
    int64_t v, min;
  } sizes[] = {{"b", c.b, 0},   {"hq", c.hq, 0}, {"hkv", c.hkv, 0},
               {"n", c.n, 0},   {"m", c.m, 0},   {"d", c.d, 1},
               {"dv", c.dv, 1}, {"c", c.c, 0},   {"k", c.k, 1},
               {"w", c.w, 0},   {"bq", c.bq, 1}};
  for (auto &s : sizes)
    if (s.v < s.min)
      return std::string("--") + s.name + " must be >= " +
             std::to_string(s.min) + ", got " + std::to_string(s.v);
  bool attention = c.op == "attention" || c.op == "gathered_attention" ||
                   c.op == "attention_backward" || c.op == "decode";
  if (c.op == "decode" && c.cb < -1)
    return "--cb must be >= 0 (or -1: m + n), got " + std::to_string(c.cb);
  if (((attention && c.op != "decode") || c.op == "threshold" ||
       c.op == "topk" || c.op == "block_select") &&
      c.n > c.m)
    return "query length n = " + std::to_string(c.n) +
           " exceeds KV length m = " + std::to_string(c.m) +
           " (N <= M is required)";
  if (c.op != "decode" && attention &&
      (c.hkv == 0 ? c.hq != 0 : c.hq % c.hkv != 0))
    return "hq = " + std::to_string(c.hq) + " must be a multiple of hkv = " +
           std::to_string(c.hkv);
  if (c.op == "decode" && (c.hkv < 1 || c.hq % c.hkv != 0))
    return "hq = " + std::to_string(c.hq) + " must be a multiple of hkv = " +
           std::to_string(c.hkv);
  if ((c.op == "attention" || c.op == "attention_backward") && !c.causal &&
      c.w != 0)
    return "a non-causal layer needs w = 0";
  if (c.lse && ((c.op != "attention" && c.op != "attention_backward") ||
                !c.causal))
    return "--lse needs a causal attention or attention_backward";
  if (c.deterministic && c.op != "attention_backward")
    return "--deterministic needs attention_backward";
  if (c.blocks && ((c.op != "attention" && c.op != "attention_backward") ||
                   !c.causal || c.bq < 1 || c.deterministic ||
                   (c.op == "attention_backward" && !c.lse)))
    return "--blocks needs a causal attention or an attention_backward "
           "given --lse (not --deterministic), and --bq >= 1";
  if (!(c.qkAmp > 0) || !std::isfinite(c.qkAmp))
    return "--qk-amp must be a finite number > 0";
  // Every buffer of the case must fit: the largest of them.
  int64_t rows = mulCapped(mulCapped(c.b, std::max(c.hq, c.hkv)),
                           std::max(c.n, c.m));
  int64_t largest = std::max({mulCapped(rows, std::max({c.d, c.dv, c.k})),
                              mulCapped(mulCapped(c.b, c.m), c.c),
                              mulCapped(mulCapped(c.b, c.hkv), c.m)});
  const int64_t limit = int64_t(1) << 27;
  if (rows < 0 || largest < 0 || largest > limit)
    return "the case is too large to run here (a buffer of more than 2^27 "
           "elements)";
  return "";
}

std::string describe(const Case &c) {
  std::ostringstream os;
  os << c.op << " b=" << c.b;
  if (c.op == "score")
    os << " hkv=" << c.hkv << " m=" << c.m << " c=" << c.c;
  else if (c.op == "mask")
    os << " rows=" << c.b * c.hkv << " n=" << c.m << " k=" << c.k;
  else if (c.op == "threshold" || c.op == "topk")
    os << " hkv=" << c.hkv << " n=" << c.n << " m=" << c.m << " k=" << c.k
       << " w=" << c.w;
  else if (c.op == "block_select")
    os << " hkv=" << c.hkv << " n=" << c.n << " m=" << c.m << " k=" << c.k
       << " w=" << c.w << " bq=" << c.bq;
  else if (c.op == "decode")
    os << " hq=" << c.hq << " hkv=" << c.hkv << " prompt=" << c.m
       << " steps=" << c.n << " d=" << c.d << " dv=" << c.dv << " k=" << c.k
       << " w=" << c.w << " cb=" << c.cb << " gate=" << gateName(c.gate)
       << (c.ragged ? " ragged" : "");
  else
    os << " hq=" << c.hq << " hkv=" << c.hkv << " n=" << c.n << " m=" << c.m
       << " d=" << c.d << " dv=" << c.dv << " k=" << c.k << " w=" << c.w
       << " gate=" << gateName(c.gate) << (c.causal ? "" : " noncausal")
       << (c.lse ? " lse" : "") << (c.deterministic ? " deterministic" : "")
       << (c.blocks ? " blocks bq=" + std::to_string(c.bq) : "");
  os << " " << dtypeName(c.dtype);
  if (c.scores != Scores::Uniform)
    os << " " << scoresName(c.scores);
  if (c.qkAmp != 1.0)
    os << " qk=" << c.qkAmp;
  os << " seed=" << c.seed;
  return os.str();
}

/// Per output element type. The inputs are rounded to the element type
/// before the reference sees them, so these bound only the kernel's f32
/// arithmetic and the rounding of its output, and, on the GPU's tensor-core
/// kernel, the rounding of the softmax weights P to the element type before
/// P V (FlashAttention's convention; relative 2^-11 / 2^-8 per weight,
/// averaged over the keys: measured max errors 0.0079 for bf16 at N = 8192,
/// Hq = 8, D = 128, against 1e-2 + 1e-2 |ref|).
Tolerance tolerance(Dtype t) {
  switch (t) {
  case Dtype::F32:
    return {1e-5, 1e-4};
  case Dtype::F16:
    return {2e-3, 2e-3}; // output rounding 2^-11, plus f32 sums
  case Dtype::BF16:
    return {1e-2, 1e-2}; // output rounding 2^-8
  }
  return {0, 0};
}


size_t Buffer::count() const {
  size_t n = 1;
  for (int64_t s : shape)
    n *= static_cast<size_t>(s);
  return n;
}

std::string Buffer::type(const char *kind) const {
  std::string t = std::string(kind) + "<";
  for (int64_t s : shape)
    t += std::to_string(s) + "x";
  return t + elem + ">";
}

namespace {

Buffer makeBuffer(const std::string &elem, std::vector<int64_t> shape) {
  Buffer b;
  b.elem = elem;
  b.shape = std::move(shape);
  b.width = (elem == "f16" || elem == "bf16") ? 2 : elem == "f64" ? 8 : 4;
  b.bytes.assign(b.count() * b.width, 0);
  return b;
}

void store(Buffer &b, size_t i, double v) {
  uint8_t *p = &b.bytes[i * b.width];
  if (b.elem == "f64") {
    std::memcpy(p, &v, 8);
  } else if (b.elem == "f32") {
    float f = static_cast<float>(v);
    std::memcpy(p, &f, 4);
  } else if (b.elem == "f16") {
    uint16_t h = toF16(static_cast<float>(v));
    std::memcpy(p, &h, 2);
  } else if (b.elem == "bf16") {
    uint16_t h = toBF16(static_cast<float>(v));
    std::memcpy(p, &h, 2);
  } else {
    int32_t x = static_cast<int32_t>(v);
    std::memcpy(p, &x, 4);
  }
}

double load(const Buffer &b, size_t i) {
  const uint8_t *p = &b.bytes[i * b.width];
  if (b.elem == "f64") {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  if (b.elem == "f32") {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (b.elem == "f16" || b.elem == "bf16") {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return b.elem == "f16" ? fromF16(h) : fromBF16(h);
  }
  int32_t x;
  std::memcpy(&x, p, 4);
  return x;
}

/// Stores `vals` (rounding to the element type) and returns what is stored.
std::vector<double> fill(Buffer &b, const std::vector<double> &vals) {
  std::vector<double> out(vals.size());
  for (size_t i = 0; i < vals.size(); ++i) {
    store(b, i, vals[i]);
    out[i] = load(b, i);
  }
  return out;
}

} // namespace

/// Poison: NaN for floats, INT32_MAX for integers.
void poison(Buffer &b) {
  for (size_t i = 0; i < b.count(); ++i)
    store(b, i, b.elem == "i32" ? 2147483647.0 : std::nan(""));
}

std::vector<double> readAll(const Buffer &b) {
  std::vector<double> v(b.count());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = load(b, i);
  return v;
}

SparseKMemRefAnyRank describe(const Buffer &b, void *data) {
  return describeDenseAnyRank(data, b.shape);
}

std::string moduleText(const Kernel &k, const std::string &name) {
  std::ostringstream os;
  os << "func.func @" << name << "(";
  for (size_t i = 0; i < k.inputs.size(); ++i)
    os << (i ? ", " : "") << "%" << k.inputs[i].first << ": "
       << k.inputs[i].second->type("tensor");
  for (size_t i = 0; i < k.outputs.size(); ++i)
    os << ", %out" << i << ": " << k.outputs[i]->type("memref");
  os << ") attributes {llvm.emit_c_interface} {\n" << k.body;
  for (size_t i = 0; i < k.outputs.size(); ++i)
    os << "  bufferization.materialize_in_destination %r" << i
       << " in restrict writable %out" << i << " : ("
       << k.outputs[i]->type("tensor") << ", " << k.outputs[i]->type("memref")
       << ") -> ()\n";
  os << "  return\n}\n";
  return os.str();
}


/// Compares; on failure returns a message naming the worst element.
static bool compare(const std::vector<double> &got, const std::vector<double> &want,
             Tolerance tol, double &maxErr, std::string &why) {
  maxErr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double g = got[i], w = want[i];
    if ((std::isinf(w) && g == w) || std::isnan(w)) // NaN: not compared
      continue;
    double err = std::abs(g - w);
    if (!(err <= tol.atol + tol.rtol * std::abs(w))) { // NaN fails too
      std::ostringstream os;
      os << "element " << i << ": got " << g << ", want " << w;
      why = os.str();
      maxErr = std::isnan(err) ? err : std::max(maxErr, err);
      return false;
    }
    maxErr = std::max(maxErr, err);
  }
  return true;
}

static std::vector<double> draw(std::mt19937_64 &rng, size_t n, double lo,
                         double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double &x : v)
    x = dist(rng);
  return v;
}

/// Scores of the given kind (see Scores).
static std::vector<double> drawScores(std::mt19937_64 &rng, size_t n,
                                      Scores kind) {
  std::vector<double> v = draw(rng, n, -2, 2);
  std::uniform_int_distribution<int> level(0, 5), pick(0, 5);
  const double huge[] = {1e30, -1e30, 3e38, -3e38};
  for (double &x : v) {
    switch (kind) {
    case Scores::Uniform:
      break;
    case Scores::Ties:
      x = 0.5 * level(rng);
      break;
    case Scores::NegInf:
      if (pick(rng) < 2)
        x = -std::numeric_limits<double>::infinity();
      break;
    case Scores::Huge:
      if (int p = pick(rng); p < 4)
        x = huge[p] * (0.5 + 0.5 * std::abs(x) / 2);
      break;
    case Scores::Equal:
      x = 0.75;
      break;
    case Scores::AllNegInf:
      x = -std::numeric_limits<double>::infinity();
      break;
    case Scores::Slope:
      // A scorer's slope * j: later keys dominate, so the selection moves
      // with the prefix and thresholds climb.
      x += 0.05 * static_cast<double>(&x - v.data());
      break;
    }
  }
  return v;
}


/// decode: a prefill of each sequence's prompt, then c.n steps, all in one
/// kernel (an scf.for over the steps carrying the state); outputs every
/// step's attention, the final threshold sums, counts and lengths. The
/// expected outputs: the whole-sequence layer's (ref::attention over
/// prompt + steps, its last n queries) where no row of the sequence
/// overflowed its band, else the reference decoder's (ref::DecodeRow,
/// which drops the same scores); tau: the exact threshold of the last
/// position, or the reference decoder's lower bound after an overflow.
static void prepareDecode(const Case &c, std::mt19937_64 &rng, Prepared &p,
                          const std::function<Buffer *(
                              const std::string &, std::vector<int64_t>)> &buf) {
  std::string et = dtypeName(c.dtype);
  int64_t B = c.b, hq = c.hq, hkv = c.hkv, P = c.m, T = c.n, D = c.d,
          Dv = c.dv, S = c.k + c.w, group = hq / hkv;
  int64_t cb = c.cb < 0 ? c.m + c.n : c.cb, L = c.k + cb + 1;
  Buffer *pk = buf(et, {B, hkv, P, D}), *pv = buf(et, {B, hkv, P, Dv}),
         *pu = buf("f32", {B, hkv, P}), *plen = buf("i32", {B}),
         *q = buf(et, {B, hq, T, D}), *sk = buf(et, {B, hkv, T, D}),
         *sv = buf(et, {B, hkv, T, Dv}), *su = buf("f32", {B, hkv, T});
  auto pkv = fill(*pk, draw(rng, pk->count(), -1, 1));
  auto pvv = fill(*pv, draw(rng, pv->count(), -1, 1));
  auto skv = fill(*sk, draw(rng, sk->count(), -1, 1));
  auto svv = fill(*sv, draw(rng, sv->count(), -1, 1));
  auto qv = fill(*q, draw(rng, q->count(), -1, 1));
  // Scores of a whole sequence per row, then split into prompt and steps.
  std::vector<double> all = drawScores(rng, B * hkv * (P + T), c.scores);
  std::vector<double> puv(B * hkv * P), suv(B * hkv * T);
  for (int64_t r = 0; r < B * hkv; ++r)
    for (int64_t j = 0; j < P + T; ++j)
      (j < P ? puv[r * P + j] : suv[r * T + j - P]) = all[r * (P + T) + j];
  puv = fill(*pu, puv);
  suv = fill(*su, suv);
  std::vector<int64_t> lens(B);
  for (int64_t b = 0; b < B; ++b)
    lens[b] = c.ragged ? std::max<int64_t>(0, P - 3 * b) : P;
  fill(*plen, std::vector<double>(lens.begin(), lens.end()));

  Buffer *out = buf(et, {B, hq, T, Dv}), *thr = buf("f64", {B, hkv, 3}),
         *cnt = buf("i32", {B, hkv, 3}), *len = buf("i32", {B});
  Kernel &k = p.kernel;
  k.inputs = {{"pk", pk}, {"pv", pv}, {"pu", pu}, {"plen", plen},
              {"q", q},   {"sk", sk}, {"sv", sv}, {"su", su}};
  k.outputs = {out, thr, cnt, len};

  auto tt = [](std::vector<int64_t> shape, const std::string &e) {
    std::string t = "tensor<";
    for (int64_t x : shape)
      t += std::to_string(x) + "x";
    return t + e + ">";
  };
  std::vector<std::string> state = {
      tt({B, hkv, S, D}, et),    tt({B, hkv, S, Dv}, et),
      tt({B, hkv, S}, "f32"),    tt({B, hkv, S}, "i32"),
      tt({B, hkv, 2, L}, "f32"), tt({B, hkv, 2, L}, "i32"),
      tt({B, hkv, 3}, "f64"),    tt({B, hkv, 3}, "i32"),
      tt({B}, "i32")};
  std::string stateTypes, outStep = tt({B, hq, 1, Dv}, et);
  for (size_t i = 0; i < state.size(); ++i)
    stateTypes += (i ? ", " : "") + state[i];
  std::string attrs = "{k = " + std::to_string(c.k) +
                      " : i64, window = " + std::to_string(c.w) + " : i64";
  std::ostringstream os;
  for (size_t i = 0; i < state.size(); ++i)
    os << "  %e" << i << " = tensor.empty() : " << state[i] << "\n";
  os << "  %s:9 = \"sparsek.decode_prefill\"(%pk, %pv, %pu, %plen";
  for (size_t i = 0; i < state.size(); ++i)
    os << ", %e" << i;
  os << ") " << attrs << "} : (" << pk->type("tensor") << ", "
     << pv->type("tensor") << ", " << pu->type("tensor") << ", "
     << plen->type("tensor") << ", " << stateTypes << ") -> (" << stateTypes
     << ")\n";
  os << "  %oe = tensor.empty() : " << out->type("tensor") << "\n"
     << "  %c0 = arith.constant 0 : index\n  %c1 = arith.constant 1 : index\n"
     << "  %cn = arith.constant " << T << " : index\n";
  os << "  %r0, %x1, %x2, %x3, %x4, %x5, %x6, %r1, %r2, %r3 = scf.for %t = "
        "%c0 to %cn step %c1 iter_args(%acc = %oe";
  for (size_t i = 0; i < state.size(); ++i)
    os << ", %a" << i << " = %s#" << i;
  os << ") -> (" << out->type("tensor") << ", " << stateTypes << ") {\n";
  os << "    %qt = tensor.extract_slice %q[0, 0, %t, 0] [" << B << ", " << hq
     << ", 1, " << D << "] [1, 1, 1, 1] : " << q->type("tensor") << " to "
     << tt({B, hq, 1, D}, et) << "\n";
  os << "    %kt = tensor.extract_slice %sk[0, 0, %t, 0] [" << B << ", " << hkv
     << ", 1, " << D << "] [1, 1, 1, 1] : " << sk->type("tensor") << " to "
     << tt({B, hkv, 1, D}, et) << "\n";
  os << "    %vt = tensor.extract_slice %sv[0, 0, %t, 0] [" << B << ", " << hkv
     << ", 1, " << Dv << "] [1, 1, 1, 1] : " << sv->type("tensor") << " to "
     << tt({B, hkv, 1, Dv}, et) << "\n";
  os << "    %ut = tensor.extract_slice %su[0, 0, %t] [" << B << ", " << hkv
     << ", 1] [1, 1, 1] : " << su->type("tensor") << " to "
     << tt({B, hkv, 1}, "f32") << "\n";
  // The step's output is its slice of the outputs (its destination, as a
  // framework would pass it), so nothing is copied.
  os << "    %oi = tensor.extract_slice %acc[0, 0, %t, 0] [" << B << ", " << hq
     << ", 1, " << Dv << "] [1, 1, 1, 1] : " << out->type("tensor") << " to "
     << outStep << "\n";
  os << "    %st:10 = \"sparsek.decode_step\"(%qt, %kt, %vt, %ut, %oi";
  for (size_t i = 0; i < state.size(); ++i)
    os << ", %a" << i;
  os << ") " << attrs << ", gate = #sparsek.gate<" << gateName(c.gate)
     << ">} : (" << tt({B, hq, 1, D}, et) << ", " << tt({B, hkv, 1, D}, et)
     << ", " << tt({B, hkv, 1, Dv}, et) << ", " << tt({B, hkv, 1}, "f32")
     << ", " << outStep << ", " << stateTypes << ") -> (" << outStep << ", "
     << stateTypes << ")\n";
  os << "    %acc2 = tensor.insert_slice %st#0 into %acc[0, 0, %t, 0] [" << B
     << ", " << hq << ", 1, " << Dv << "] [1, 1, 1, 1] : " << outStep
     << " into " << out->type("tensor") << "\n";
  os << "    scf.yield %acc2";
  for (size_t i = 0; i < state.size(); ++i)
    os << ", %st#" << i + 1;
  os << " : " << out->type("tensor") << ", " << stateTypes << "\n  }\n";
  k.body = os.str();

  // The references, per sequence and KV head.
  double scale = ::sparsek::defaultSoftmaxScale(D);
  std::vector<double> &want = p.want;
  want.assign(out->count(), 0.0);
  std::vector<double> thrWant(B * hkv * 3, std::nan("")),
      cntWant(B * hkv * 3, std::nan("")), lenWant(B);
  int64_t overflowedRows = 0;
  for (int64_t b = 0; b < B; ++b) {
    int64_t n0 = lens[b], M = n0 + T;
    lenWant[b] = static_cast<double>(M);
    // Sequence b as one whole-sequence layer: [1, H, M, ...].
    std::vector<double> kk(hkv * M * D), vv(hkv * M * Dv), uu(hkv * M),
        qq(hq * T * D);
    for (int64_t g = 0; g < hkv; ++g)
      for (int64_t j = 0; j < M; ++j) {
        bool pr = j < n0;
        int64_t r = b * hkv + g, jj = pr ? j : j - n0;
        for (int64_t e = 0; e < D; ++e)
          kk[(g * M + j) * D + e] =
              pr ? pkv[(r * P + jj) * D + e] : skv[(r * T + jj) * D + e];
        for (int64_t e = 0; e < Dv; ++e)
          vv[(g * M + j) * Dv + e] =
              pr ? pvv[(r * P + jj) * Dv + e] : svv[(r * T + jj) * Dv + e];
        uu[g * M + j] = pr ? puv[r * P + jj] : suv[r * T + jj];
      }
    std::copy(qv.begin() + b * hq * T * D, qv.begin() + (b + 1) * hq * T * D,
              qq.begin());
    bool overflow = false;
    std::vector<double> dec(hq * T * Dv);
    for (int64_t g = 0; g < hkv; ++g) {
      ref::DecodeRow row(c.k, c.w, cb, D, Dv);
      row.prefill(&kk[g * M * D], &vv[g * M * Dv], &uu[g * M], n0);
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> qg(group * D);
        for (int64_t h = 0; h < group; ++h)
          for (int64_t e = 0; e < D; ++e)
            qg[h * D + e] = qq[((g * group + h) * T + t) * D + e];
        int64_t j = n0 + t;
        std::vector<double> o =
            row.step(qg.data(), group, &kk[(g * M + j) * D],
                     &vv[(g * M + j) * Dv], uu[g * M + j], scale, c.gate);
        for (int64_t h = 0; h < group; ++h)
          for (int64_t e = 0; e < Dv; ++e)
            dec[((g * group + h) * T + t) * Dv + e] = o[h * Dv + e];
      }
      int64_t r = b * hkv + g;
      overflow |= row.overflowed();
      overflowedRows += row.overflowed();
      std::vector<double> useq(uu.begin() + g * M, uu.begin() + (g + 1) * M);
      thrWant[r * 3] = row.overflowed()
                           ? row.tau()
                           : ref::thresholds(useq, 1, 1, M, 1, c.k, c.w)[0];
      cntWant[r * 3 + 2] = row.overflowed() ? 1 : 0;
    }
    std::vector<double> whole;
    if (!overflow) {
      ref::AttentionShape s{1, hq, hkv, T, M, D, Dv};
      whole = ref::attention(s, qq, kk, vv, uu, c.k, c.w, true, scale, c.gate);
    }
    const std::vector<double> &src = overflow ? dec : whole;
    std::copy(src.begin(), src.end(), want.begin() + b * hq * T * Dv);
  }
  p.outTol = tolerance(c.dtype);
  p.want2 = thrWant;
  p.outTol2 = {1e-6, 1e-6};
  p.wantMore = {cntWant, lenWant};
  p.tolMore = {{0, 0}, {0, 0}};
  p.note = "overflowed_rows=" + std::to_string(overflowedRows) + "/" +
           std::to_string(B * hkv);
}

/// The result types of a block form's sparsek.block_select (static N).
static std::string blockSelectTypes(const Case &c) {
  std::string rows = std::to_string(c.b) + "x" + std::to_string(c.hkv) + "x";
  int64_t nb = (c.n + c.bq - 1) / c.bq;
  std::string perQuery = rows + std::to_string(c.n);
  return "tensor<" + perQuery + "xf32>, tensor<" + perQuery +
         "xi32>, tensor<" + perQuery + "xf32>, tensor<" + rows +
         std::to_string(nb) + "x" + std::to_string(c.k + c.bq - 1) +
         "xi32>, tensor<" + rows + std::to_string(nb) + "xi32>";
}

/// A block form's selection %s0..%s4 over %u (of type `uType`).
static std::string blockSelect(const Case &c, const std::string &uType) {
  return "  %s0, %s1, %s2, %s3, %s4 = \"sparsek.block_select\"(%u) {k = " +
         std::to_string(c.k) + " : i64, window = " + std::to_string(c.w) +
         " : i64, block_size = " + std::to_string(c.bq) + " : i64} : (" +
         uType + ") -> (" + blockSelectTypes(c) + ")\n";
}

Prepared prepare(const Case &c) {
  std::mt19937_64 rng(c.seed);
  std::string et = dtypeName(c.dtype);
  Tolerance tol = tolerance(c.dtype), exact{0, 0}, f32tol{1e-5, 1e-5};
  Prepared p;
  Kernel &k = p.kernel;
  std::vector<double> &want = p.want, &want2 = p.want2;
  Tolerance &outTol = p.outTol, &outTol2 = p.outTol2;
  outTol = tol;
  outTol2 = f32tol;
  auto buf = [&](const std::string &e, std::vector<int64_t> s) {
    p.buffers.push_back(std::make_unique<Buffer>(makeBuffer(e, std::move(s))));
    return p.buffers.back().get();
  };
  auto attrs = [&](bool withK) {
    std::ostringstream os;
    os << "{";
    if (withK)
      os << "k = " << c.k << " : i64, ";
    os << "window = " << c.w << " : i64}";
    return os.str();
  };

  if (c.op == "score") {
    Buffer *x = buf(et, {c.b, c.m, c.c}), *w = buf(et, {c.hkv, c.c}),
           *bias = buf("f32", {c.hkv}), *u = buf("f32", {c.b, c.hkv, c.m});
    auto xv = fill(*x, draw(rng, x->count(), -1, 1));
    auto wv = fill(*w, draw(rng, w->count(), -1, 1));
    auto bv = fill(*bias, draw(rng, bias->count(), -1, 1));
    k.inputs = {{"x", x}, {"w", w}, {"bias", bias}};
    k.outputs = {u};
    k.body = "  %r0 = \"sparsek.score\"(%x, %w, %bias) {slope = 0.125 : f64} : (" +
             x->type("tensor") + ", " + w->type("tensor") + ", " +
             bias->type("tensor") + ") -> " + u->type("tensor") + "\n";
    want = ref::score(xv, wv, bv, c.b, c.m, c.c, c.hkv, 0.125);
    outTol = {1e-4, 1e-4}; // f32 sums of C products
  } else if (c.op == "mask") {
    Buffer *z = buf("f32", {c.b, c.hkv, c.m}), *p = buf("f32", z->shape),
           *t = buf("f32", {c.b, c.hkv});
    auto zv = fill(*z, drawScores(rng, z->count(), c.scores));
    k.inputs = {{"z", z}};
    k.outputs = {p, t};
    k.body = "  %r0, %r1 = \"sparsek.mask\"(%z) {k = " + std::to_string(c.k) +
             " : i64} : (" + z->type("tensor") + ") -> (" + p->type("tensor") +
             ", " + t->type("tensor") + ")\n";
    ref::sparsekRows(zv, c.b * c.hkv, c.m, c.k, want, want2);
    outTol = f32tol;
  } else if (c.op == "threshold" || c.op == "topk") {
    Buffer *u = buf("f32", {c.b, c.hkv, c.m});
    auto uv = fill(*u, drawScores(rng, u->count(), c.scores));
    bool thr = c.op == "threshold";
    Buffer *out = thr ? buf("f32", {c.b, c.hkv, c.n})
                      : buf("i32", {c.b, c.hkv, c.n, c.k});
    k.inputs = {{"u", u}};
    k.outputs = {out};
    k.body = "  %r0 = \"sparsek." + c.op + "\"(%u) " + attrs(true) + " : (" +
             u->type("tensor") + ") -> " + out->type("tensor") + "\n";
    if (thr) {
      want = ref::thresholds(uv, c.b, c.hkv, c.m, c.n, c.k, c.w);
      outTol = f32tol;
    } else {
      auto idx = ref::topk(uv, c.b, c.hkv, c.m, c.n, c.k, c.w);
      want.assign(idx.begin(), idx.end());
      outTol = exact;
    }
  } else if (c.op == "block_select") {
    Buffer *u = buf("f32", {c.b, c.hkv, c.m});
    auto uv = fill(*u, drawScores(rng, u->count(), c.scores));
    int64_t nb = (c.n + c.bq - 1) / c.bq, width = c.k + c.bq - 1;
    Buffer *kthS = buf("f32", {c.b, c.hkv, c.n}),
           *kthI = buf("i32", {c.b, c.hkv, c.n}),
           *tau = buf("f32", {c.b, c.hkv, c.n}),
           *keys = buf("i32", {c.b, c.hkv, nb, width}),
           *count = buf("i32", {c.b, c.hkv, nb});
    k.inputs = {{"u", u}};
    k.outputs = {tau, kthS, kthI, keys, count};
    std::ostringstream body;
    body << "  %r1, %r2, %r0, %r3, %r4 = \"sparsek.block_select\"(%u) {k = "
         << c.k << " : i64, window = " << c.w << " : i64, block_size = "
         << c.bq << " : i64} : (" << u->type("tensor") << ") -> ("
         << kthS->type("tensor") << ", " << kthI->type("tensor") << ", "
         << tau->type("tensor") << ", " << keys->type("tensor") << ", "
         << count->type("tensor") << ")\n";
    k.body = body.str();
    std::vector<double> ks, ki, ky, ct;
    for (int64_t r = 0; r < c.b * c.hkv; ++r) {
      ref::BlockSelection bs =
          ref::blockSelect(uv.data() + r * c.m, c.m, c.n, c.k, c.w, c.bq);
      want.insert(want.end(), bs.tau.begin(), bs.tau.end());
      ks.insert(ks.end(), bs.kthScore.begin(), bs.kthScore.end());
      ki.insert(ki.end(), bs.kthIndex.begin(), bs.kthIndex.end());
      ky.insert(ky.end(), bs.unionIndices.begin(), bs.unionIndices.end());
      ct.insert(ct.end(), bs.unionCount.begin(), bs.unionCount.end());
    }
    outTol = f32tol;
    // kth scores are copies of inputs: exact.
    want2 = ks;
    outTol2 = exact;
    p.wantMore = {ki, ky, ct};
    p.tolMore = {exact, exact, exact};
  } else if (c.op == "decode") {
    prepareDecode(c, rng, p, buf);
  } else {
    // The attention family: gathered_attention, attention and its backward
    // share the inputs, drawn in one order (q, key, value, u).
    Buffer *q = buf(et, {c.b, c.hq, c.n, c.d}),
           *key = buf(et, {c.b, c.hkv, c.m, c.d}),
           *value = buf(et, {c.b, c.hkv, c.m, c.dv}),
           *u = buf("f32", {c.b, c.hkv, c.m}),
           *out = buf(et, {c.b, c.hq, c.n, c.dv});
    auto qv = fill(*q, draw(rng, q->count(), -c.qkAmp, c.qkAmp));
    auto kv = fill(*key, draw(rng, key->count(), -c.qkAmp, c.qkAmp));
    auto vv = fill(*value, draw(rng, value->count(), -1, 1));
    auto uv = fill(*u, drawScores(rng, u->count(), c.scores));
    ref::AttentionShape s{c.b, c.hq, c.hkv, c.n, c.m, c.d, c.dv};
    double scale = ::sparsek::defaultSoftmaxScale(c.d);
    std::string gateAttr =
        std::string("gate = #sparsek.gate<") + gateName(c.gate) + ">";
    if (c.op == "attention_backward") {
      Buffer *dout = buf(et, {c.b, c.hq, c.n, c.dv});
      auto gv = fill(*dout, draw(rng, dout->count(), -1, 1));
      // The forward result the backward is given, in the element type.
      std::vector<double> lse;
      fill(*out, ref::attention(s, qv, kv, vv, uv, c.k, c.w, c.causal, scale,
                                c.gate, &lse));
      Buffer *dq = buf(et, q->shape), *dk = buf(et, key->shape),
             *dvb = buf(et, value->shape), *du = buf("f32", u->shape);
      k.inputs = {{"q", q}, {"key", key}, {"value", value},
                  {"u", u}, {"out", out}, {"dout", dout}};
      std::string lseOperand, lseType;
      if (c.lse) {
        // The forward's log-sum-exp (f32, as the forward would give it).
        Buffer *l = buf("f32", {c.b, c.hq, c.n});
        fill(*l, lse);
        k.inputs.push_back({"lse", l});
        lseOperand = ", %lse";
        lseType = ", " + l->type("tensor");
      }
      k.outputs = {dq, dk, dvb, du};
      std::string op = "sparsek.attention_backward",
                  operands = "%q, %key, %value, %u, %out, %dout" + lseOperand,
                  types = q->type("tensor") + ", " + key->type("tensor") +
                          ", " + value->type("tensor") + ", " +
                          u->type("tensor") + ", " + out->type("tensor") +
                          ", " + dout->type("tensor") + lseType,
                  attributes = "{k = " + std::to_string(c.k) +
                               " : i64, window = " + std::to_string(c.w) +
                               " : i64, ",
                  prelude;
      if (c.blocks) {
        // The forward's selection (computed here: the case has no forward)
        // handed to the backward in block form.
        prelude = blockSelect(c, u->type("tensor"));
        op = "sparsek.block_attention_backward";
        operands += ", %s0, %s1, %s2, %s3, %s4";
        types += ", " + blockSelectTypes(c);
        attributes += "block_size = " + std::to_string(c.bq) + " : i64, " +
                      gateAttr + "}";
      } else {
        attributes += std::string("causal = ") +
                      (c.causal ? "true" : "false") + ", " + gateAttr +
                      (c.deterministic ? ", deterministic" : "") + "}";
      }
      k.body = prelude + "  %r0, %r1, %r2, %r3 = \"" + op + "\"(" + operands +
               ") " + attributes + " : (" + types + ") -> (" +
               dq->type("tensor") + ", " + dk->type("tensor") + ", " +
               dvb->type("tensor") + ", " + du->type("tensor") + ")\n";
      ref::AttentionGrads g = ref::attentionBackward(
          s, qv, kv, vv, uv, gv, c.k, c.w, c.causal, scale, c.gate);
      // Gradients sum many f32 terms; the inputs' rounding enters through
      // out.
      Tolerance gt = c.dtype == Dtype::F32   ? Tolerance{1e-4, 1e-3}
                     : c.dtype == Dtype::F16 ? Tolerance{1e-2, 1e-2}
                                             : Tolerance{5e-2, 5e-2};
      want = g.dq;
      outTol = gt;
      want2 = g.dkey;
      outTol2 = gt;
      p.wantMore = {g.dvalue, g.du};
      p.tolMore = {gt, c.dtype == Dtype::F32 ? Tolerance{1e-4, 1e-3} : gt};
    } else if (c.op == "gathered_attention") {
      k.outputs = {out};
      Buffer *idx = buf("i32", {c.b, c.hkv, c.n, c.k}),
             *tau = buf("f32", {c.b, c.hkv, c.n});
      auto iv = ref::topk(uv, c.b, c.hkv, c.m, c.n, c.k, c.w);
      auto tv = fill(*tau, ref::thresholds(uv, c.b, c.hkv, c.m, c.n, c.k, c.w));
      fill(*idx, std::vector<double>(iv.begin(), iv.end()));
      k.inputs = {{"q", q},     {"key", key}, {"value", value},
                  {"u", u},     {"idx", idx}, {"tau", tau}};
      k.body = "  %r0 = \"sparsek.gathered_attention\"(%q, %key, %value, %u, "
               "%idx, %tau) {window = " +
               std::to_string(c.w) + " : i64, " + gateAttr + "} : (" +
               q->type("tensor") + ", " + key->type("tensor") + ", " +
               value->type("tensor") + ", " + u->type("tensor") + ", " +
               idx->type("tensor") + ", " + tau->type("tensor") + ") -> " +
               out->type("tensor") + "\n";
      want = ref::gatheredAttention(s, qv, kv, vv, uv, iv, c.k, tv, c.w, scale,
                                    c.gate);
    } else {
      k.outputs = {out};
      k.inputs = {{"q", q}, {"key", key}, {"value", value}, {"u", u}};
      std::string results = "%r0", types = out->type("tensor");
      if (c.lse) {
        Buffer *l = buf("f32", {c.b, c.hq, c.n});
        k.outputs.push_back(l);
        results += ", %r1";
        types = "(" + types + ", " + l->type("tensor") + ")";
      }
      std::string inputs = q->type("tensor") + ", " + key->type("tensor") +
                           ", " + value->type("tensor") + ", " +
                           u->type("tensor");
      if (c.blocks)
        k.body = blockSelect(c, u->type("tensor")) + "  " + results +
                 " = \"sparsek.block_attention\"(%q, %key, %value, %u, %s0, "
                 "%s1, %s2, %s3, %s4) {window = " + std::to_string(c.w) +
                 " : i64, block_size = " + std::to_string(c.bq) + " : i64, " +
                 gateAttr + "} : (" + inputs + ", " + blockSelectTypes(c) +
                 ") -> " + types + "\n";
      else
        k.body = "  " + results +
                 " = \"sparsek.attention\"(%q, %key, %value, %u) {k = " +
                 std::to_string(c.k) + " : i64, window = " +
                 std::to_string(c.w) + " : i64, causal = " +
                 (c.causal ? "true" : "false") + ", " + gateAttr + "} : (" +
                 inputs + ") -> " + types + "\n";
      want = ref::attention(s, qv, kv, vv, uv, c.k, c.w, c.causal, scale,
                            c.gate, c.lse ? &want2 : nullptr);
      // The log-sum-exp: f32 logits of inputs in the element type, summed
      // in f32 (-inf exactly where nothing is attended).
      outTol2 = c.dtype == Dtype::F32 ? Tolerance{1e-4, 1e-4}
                                      : Tolerance{1e-3, 1e-3};
    }
  }

  return p;
}

bool verify(Prepared &p, std::string &detail) {
  Kernel &k = p.kernel;
  Tolerance &outTol = p.outTol, &outTol2 = p.outTol2;
  std::vector<double> &want = p.want, &want2 = p.want2;
  double err = 0, err2 = 0;
  std::string why;
  bool ok = compare(readAll(*k.outputs[0]), want, outTol, err, why);
  if (ok && k.outputs.size() > 1)
    ok = compare(readAll(*k.outputs[1]), want2, outTol2, err2, why);
  for (size_t o = 2; ok && o < k.outputs.size(); ++o) {
    double e = 0;
    Tolerance t = o - 2 < p.tolMore.size() ? p.tolMore[o - 2] : Tolerance{0, 0};
    ok = compare(readAll(*k.outputs[o]), p.wantMore[o - 2], t, e, why);
    if (!ok)
      why = "output " + std::to_string(o) + ": " + why;
  }
  std::ostringstream os;
  os << "max_err=" << std::max(err, err2) << " tol=" << outTol.atol << "+"
     << outTol.rtol << "|ref|";
  if (!p.note.empty())
    os << " " << p.note;
  if (!ok)
    os << " (" << why << ")";
  detail = os.str();
  return ok;
}


//===----------------------------------------------------------------------===//
// Grids
//===----------------------------------------------------------------------===//

static const ref::Gate kGates[] = {ref::Gate::KV, ref::Gate::V, ref::Gate::Logit,
                            ref::Gate::None};
static const Dtype kDtypes[] = {Dtype::F32, Dtype::F16, Dtype::BF16};

/// The causal-layer grid of the CPU issue: every listed value of every
/// parameter appears, combined by cycling through the lists.
static std::vector<Case> attentionGrid(const std::string &op) {
  const int64_t heads[][2] = {{2, 2}, {4, 1}, {8, 2}};
  const int64_t nm[][2] = {{1, 1}, {7, 7}, {64, 64}, {300, 300}, {1, 300}};
  const int64_t ds[] = {16, 64, 128};
  std::vector<Case> cases;
  unsigned seed = 1;
  for (int s = 0; s < 5; ++s)
    for (int g = 0; g < 4; ++g)
      for (int t = 0; t < 3; ++t) {
        int i = s * 12 + g * 3 + t;
        Case c;
        c.op = op;
        c.b = 1 + i % 2;
        c.hq = heads[i % 3][0];
        c.hkv = heads[i % 3][1];
        c.n = nm[s][0];
        c.m = nm[s][1];
        c.d = ds[(i / 2) % 3];
        c.dv = i % 4 == 3 ? c.d / 2 : c.d; // Dv != D
        const int64_t ks[] = {1, 3, 64, c.m + 1};
        const int64_t ws[] = {0, 1, 16, c.m};
        c.k = ks[(i + t) % 4];
        c.w = ws[(i / 4 + g) % 4];
        c.gate = kGates[g];
        c.dtype = kDtypes[t];
        c.scores = i % 5 == 0 ? Scores::Ties : Scores::Uniform;
        // A quarter of the layers also return their log-sum-exp.
        c.lse = op == "attention" && i % 4 == 1;
        c.seed = seed++;
        cases.push_back(c);
      }
  return cases;
}

static std::vector<Case> nonCausalGrid() {
  std::vector<Case> cases;
  unsigned seed = 100;
  for (int g = 0; g < 4; ++g)
    for (int t = 0; t < 3; ++t) {
      Case c;
      c.causal = false;
      c.w = 0;
      c.b = 1 + g % 2;
      c.hq = g % 2 ? 4 : 8;
      c.hkv = g % 2 ? 1 : 2;
      c.n = t == 0 ? 1 : 48;
      c.m = t == 2 ? 48 : 64;
      c.d = 32;
      c.dv = 16;
      c.k = g == 3 ? c.m + 2 : 3 + 4 * g;
      c.gate = kGates[g];
      c.dtype = kDtypes[t];
      c.scores = t == 1 ? Scores::Ties : Scores::Uniform;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

static std::vector<Case> selectionGrid() {
  std::vector<Case> cases;
  unsigned seed = 200;
  for (const char *op : {"threshold", "topk", "block_select"})
    for (int64_t m : {1, 7, 64, 300})
      for (int nOne = 0; nOne < 2; ++nOne)
        for (int j = 0; j < 4; ++j) {
          Case c;
          c.op = op;
          c.b = 1 + j % 2;
          c.hkv = j % 2 ? 1 : 2;
          c.m = m;
          c.n = nOne ? 1 : m;
          const int64_t ks[] = {1, 3, 64, m + 1};
          const int64_t ws[] = {16, 0, m, 1};
          c.k = ks[j];
          c.w = ws[(j + nOne) % 4];
          c.scores = (j + nOne) % 2 == 0 ? Scores::Ties : Scores::Uniform;
          c.bq = 1 + (j * 5 + nOne) % 9;
          c.seed = seed++;
          cases.push_back(c);
        }
  // Adversarial scores for exact selection: all equal, a few distinct
  // values, a slope that makes later keys dominate, -inf, +-3e38; N < M.
  const Scores hard[] = {Scores::Equal, Scores::Ties, Scores::Slope,
                         Scores::NegInf, Scores::Huge};
  for (const char *op : {"threshold", "topk", "block_select"})
    for (int s = 0; s < 5; ++s)
      for (int half = 0; half < 2; ++half) {
        Case c;
        c.op = op;
        c.b = 1;
        c.hkv = 2;
        c.m = 300;
        c.n = half ? 150 : 300;
        c.k = half ? 64 : 8;
        c.w = half ? 0 : 16;
        c.bq = half ? 16 : 7;
        c.scores = hard[s];
        c.seed = seed++;
        cases.push_back(c);
      }
  // block_select with a large k over small blocks: on the GPU, a block
  // between samples (every min(2k / bq, 32)-th block) filters its
  // sample's k keys, the keys arrived since and its newcomers: lists of up
  // to 200 + 24 * 16 + 15 entries at k 200 (one chunk of 1024) and
  // 600 + 31 * 16 + 15 at k 600 (two chunks).
  for (int64_t k : {200, 600})
    for (int s = 0; s < 2; ++s) {
      Case c;
      c.op = "block_select";
      c.hkv = 2;
      c.m = 3000;
      c.n = s ? 2900 : 3000;
      c.k = k;
      c.w = 40;
      c.bq = 16;
      c.scores = s ? Scores::Ties : Scores::Uniform;
      c.seed = seed++;
      cases.push_back(c);
    }
  // Rows longer than one super-chunk of the parallel lowering's prefix sums
  // (1024 keys): three of them.
  for (const char *op : {"threshold", "topk", "block_select"})
    for (int s = 0; s < 2; ++s) {
      Case c;
      c.op = op;
      c.hkv = 1;
      c.m = 2100;
      c.n = 2000;
      c.k = 40;
      c.w = 24;
      c.bq = 32;
      c.scores = s ? Scores::Ties : Scores::Uniform;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

static std::vector<Case> maskGrid() {
  std::vector<Case> cases;
  unsigned seed = 300;
  for (int64_t n : {1, 7, 64, 300})
    for (int64_t k : {1, 3, 64, 301}) {
      Case c;
      c.op = "mask";
      c.b = 2;
      c.hkv = 3;
      c.m = n;
      c.k = k;
      c.scores = k == 3 ? Scores::Ties : Scores::Uniform;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

static std::vector<Case> scoreGrid() {
  std::vector<Case> cases;
  unsigned seed = 400;
  for (Dtype t : kDtypes)
    for (int64_t m : {1, 64}) {
      Case c;
      c.op = "score";
      c.b = 2;
      c.hkv = 2;
      c.m = m;
      c.c = 48;
      c.dtype = t;
      c.seed = seed++;
      cases.push_back(c);
    }
  return cases;
}

/// attention_backward: every gate and element type, GQA 1/2/4/8, N < M,
/// non-causal, ties, narrow scores (fractional sets beyond the top k),
/// k and window beyond M, empty.
static std::vector<Case> backwardGrid() {
  std::vector<Case> cases;
  unsigned seed = 600;
  const int64_t heads[][2] = {{1, 1}, {2, 1}, {4, 1}, {8, 1}, {4, 2}};
  const int64_t nm[][2] = {{1, 1}, {9, 9}, {20, 33}, {40, 40}};
  for (int i = 0; i < 24; ++i) {
    Case c;
    c.op = "attention_backward";
    c.b = 1 + i % 2;
    c.hq = heads[i % 5][0];
    c.hkv = heads[i % 5][1];
    c.n = nm[i % 4][0];
    c.m = nm[i % 4][1];
    c.d = i % 3 == 0 ? 16 : 8;
    c.dv = i % 2 ? 8 : 4;
    c.k = 1 + i % 5;
    c.w = i % 4;
    c.gate = kGates[i % 4];
    c.dtype = kDtypes[(i / 4) % 3];
    c.scores = i % 6 == 0 ? Scores::Ties : Scores::Uniform;
    c.causal = i % 7 != 5;
    if (!c.causal)
      c.w = 0;
    c.seed = seed++;
    cases.push_back(c);
  }
  // Scores at the edges: -inf (some, all), huge, all equal.
  const Scores edge[] = {Scores::NegInf, Scores::AllNegInf, Scores::Huge,
                         Scores::Equal};
  for (int e = 0; e < 4; ++e) {
    Case c;
    c.op = "attention_backward";
    c.hq = 4;
    c.hkv = 2;
    c.n = 15;
    c.m = 19;
    c.k = 3;
    c.w = 2;
    c.gate = kGates[e];
    c.scores = edge[e];
    c.lse = e % 2 == 1; // given the forward's log-sum-exp
    c.seed = seed++;
    cases.push_back(c);
  }
  Case big;
  big.op = "attention_backward";
  big.n = big.m = 12;
  big.k = 20;
  big.w = 15;
  big.seed = seed++;
  cases.push_back(big);
  Case empty = big;
  empty.n = empty.m = 0;
  empty.lse = true;
  empty.seed = seed++;
  cases.push_back(empty);
  return cases;
}

/// Numerical and shape edge cases: infinite, huge, equal scores; huge
/// logits; empty, single-token and degenerate shapes.
static std::vector<Case> edgeGrid() {
  std::vector<Case> cases;
  unsigned seed = 500;
  auto add = [&](Case c) {
    c.seed = seed++;
    cases.push_back(c);
  };
  const Scores kinds[] = {Scores::NegInf, Scores::Huge, Scores::Equal,
                          Scores::AllNegInf};
  for (int s = 0; s < 4; ++s) {
    for (const char *op : {"threshold", "topk", "block_select", "mask"}) {
      Case c;
      c.op = op;
      c.bq = 3 + s;
      c.b = 2;
      c.hkv = 2;
      c.n = op == std::string("mask") ? 1 : 40;
      c.m = 57;
      c.k = 1 + 3 * s;
      c.w = s % 2 ? 0 : 5;
      c.scores = kinds[s];
      add(c);
    }
    for (int g = 0; g < 4; ++g) {
      Case c;
      c.hq = 4;
      c.hkv = 2;
      c.n = 33;
      c.m = 45;
      c.d = 16;
      c.dv = 8;
      c.k = 3 + s;
      c.w = g % 2 ? 4 : 1;
      c.gate = kGates[g];
      c.dtype = kDtypes[(s + g) % 3];
      c.scores = kinds[s];
      add(c);
    }
    Case ga;
    ga.op = "gathered_attention";
    ga.n = ga.m = 30;
    ga.k = 5;
    ga.w = 3;
    ga.gate = kGates[s];
    ga.scores = kinds[s];
    add(ga);
    Case nc;
    nc.causal = false;
    nc.w = 0;
    nc.n = 9;
    nc.m = 21;
    nc.k = 4;
    nc.gate = kGates[(s + 1) % 4];
    nc.scores = kinds[s];
    add(nc);
  }
  // Huge logits: q and key entries near 1e3 (f16, bf16) and 1e18 (f32).
  for (int t = 0; t < 3; ++t)
    for (ref::Gate g : {ref::Gate::KV, ref::Gate::Logit}) {
      Case c;
      c.dtype = kDtypes[t];
      c.qkAmp = t == 0 ? 1e18 : 1e3;
      c.n = c.m = 40;
      c.d = 64;
      c.gate = g;
      c.k = 6;
      c.w = 5;
      add(c);
    }
  // Shapes: one token (with -inf scores: only the window key remains),
  // empty sequences, k and window beyond M, D = 1, Dv = 1.
  for (int g = 0; g < 4; ++g) {
    Case one;
    one.n = one.m = 1;
    one.w = 1;
    one.gate = kGates[g];
    one.scores = Scores::AllNegInf;
    add(one);
  }
  for (const char *op : {"threshold", "topk", "block_select", "mask", "score",
                         "gathered_attention", "attention"}) {
    Case empty;
    empty.op = op;
    empty.n = empty.m = 0;
    add(empty);
  }
  Case noncausalEmpty;
  noncausalEmpty.causal = false;
  noncausalEmpty.w = 0;
  noncausalEmpty.n = noncausalEmpty.m = 0;
  add(noncausalEmpty);
  Case bigK;
  bigK.n = 5;
  bigK.m = 12;
  bigK.k = 40;
  bigK.w = 30;
  add(bigK);
  Case d1;
  d1.d = d1.dv = 1;
  d1.n = d1.m = 20;
  d1.dtype = Dtype::BF16;
  add(d1);
  Case n1;
  n1.n = 1;
  n1.m = 64;
  n1.k = 7;
  n1.w = 9;
  n1.scores = Scores::Huge;
  add(n1);
  return cases;
}

/// Shapes for the GPU's tensor-core attention kernel (f16/bf16 layers with
/// D, Dv in {64, 128}): query heads per KV head 2, 8 and 16, Dv > D and
/// Dv < D, several query blocks of 128 with a partial last one, N < M, no
/// window and long windows, k from 1 to beyond the candidates, every gate,
/// tied, equal and uniform scores; the shapes the tuning table gives key
/// tiles of 64 and ping-pong. On the CPU they run the same lowering as
/// every other case.
static std::vector<Case> tensorCoreGrid() {
  struct Shape {
    int64_t hq, hkv, n, m, d, dv, k, w;
  };
  const Shape shapes[] = {
      {4, 2, 300, 300, 64, 64, 17, 5},    {16, 1, 129, 129, 64, 64, 1, 64},
      {8, 1, 257, 400, 128, 128, 64, 0},  {2, 1, 513, 513, 128, 64, 40, 200},
      {16, 2, 200, 200, 64, 128, 8, 33},  {8, 4, 384, 384, 128, 128, 300, 16},
  };
  // The backward kernel: every gate, 1/2/4/8 query heads per KV head (one
  // or two heads per warp row), D and Dv 64/128, N < M, ties and equal
  // scores (fractional sets beyond the top k).
  const Shape back[] = {
      {4, 2, 300, 300, 64, 64, 17, 5},    {8, 1, 200, 260, 128, 128, 40, 33},
      {2, 2, 129, 129, 64, 128, 8, 16},   {8, 4, 257, 257, 128, 64, 64, 0},
      {16, 2, 160, 160, 128, 128, 24, 7}, {3, 3, 100, 150, 64, 64, 5, 20},
  };
  const Scores kinds[] = {Scores::Uniform, Scores::Ties, Scores::Equal};
  std::vector<Case> cases;
  unsigned seed = 700;
  int i = 0;
  // One case of `sh`: batch, gate and scores cycle over the grid.
  auto next = [&](const Shape &sh, const char *op, Dtype t) {
    Case c;
    if (op)
      c.op = op;
    c.b = 1 + i % 2;
    c.hq = sh.hq;
    c.hkv = sh.hkv;
    c.n = sh.n;
    c.m = sh.m;
    c.d = sh.d;
    c.dv = sh.dv;
    c.k = sh.k;
    c.w = sh.w;
    c.gate = kGates[i % 4];
    c.dtype = t;
    c.scores = kinds[i % 3];
    c.seed = seed++;
    ++i;
    return c;
  };
  // Each shape in bf16 and f16, the f16 twin with the log-sum-exp (the
  // forward kernel writes it; the backward kernel reads it, no first
  // sweep).
  auto add = [&](const auto &list, const char *op) {
    for (const Shape &sh : list)
      for (Dtype t : {Dtype::BF16, Dtype::F16}) {
        Case c = next(sh, op, t);
        c.lse = t == Dtype::F16;
        cases.push_back(c);
      }
  };
  add(shapes, nullptr);
  add(back, "attention_backward");
  // The deterministic backward (per-chunk partial sums, no floating-point
  // atomics): every backward shape again in bf16, every other one given
  // the log-sum-exp.
  for (const Shape &sh : back) {
    bool lse = i % 2 == 1;
    Case c = next(sh, "attention_backward", Dtype::BF16);
    c.lse = lse;
    c.deterministic = true;
    cases.push_back(c);
  }
  // Training's pair in block form (the backward given the forward's
  // selection): every backward shape, forward and backward, with the query
  // block of the kernel's layout for the group (128 rows per thread block:
  // 128 / heads queries, heads the first of 4, 2, 1 dividing the group),
  // f16 and bf16 alternating; one more shape with a smaller block.
  for (const Shape &sh : back) {
    int64_t group = sh.hq / sh.hkv;
    int64_t heads = group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
    Dtype t = (&sh - back) % 2 ? Dtype::F16 : Dtype::BF16;
    for (const char *op : {"attention", "attention_backward"}) {
      Case c = next(sh, op, t);
      c.lse = true;
      c.blocks = true;
      c.bq = 128 / heads;
      cases.push_back(c);
    }
  }
  Case small = next(back[0], "attention_backward", Dtype::BF16);
  small.lse = small.blocks = true;
  small.bq = 16;
  cases.push_back(small);
  // The tuning table's line for bf16, k 256, w 512 (key tiles of 64 in
  // dynamic shared memory, ping-pong): two and one heads per warp row,
  // D and Dv 64 / 128, N < M, several query blocks with a partial last
  // one, every gate; the forward with its log-sum-exp, and in block form.
  const Shape tuned[] = {
      {8, 2, 1200, 1200, 128, 128, 256, 512},
      {4, 4, 900, 900, 128, 128, 256, 512},
      {16, 2, 700, 1000, 64, 64, 256, 512},
      {8, 2, 1100, 1100, 128, 64, 256, 512},
  };
  for (const Shape &sh : tuned) {
    Case c = next(sh, nullptr, Dtype::BF16);
    c.lse = (&sh - tuned) % 2 == 1;
    cases.push_back(c);
  }
  Case pair = next(tuned[0], "attention", Dtype::BF16);
  pair.lse = pair.blocks = true;
  pair.bq = 32;
  cases.push_back(pair);
  return cases;
}

/// decode: prefill + steps against the whole-sequence layer. Every gate
/// and element type, GQA groups 1/2/4/8, w = 0, k beyond the length, ties,
/// flat scores with a band that overflows and one that does not, -inf
/// scores (some, all), huge scores, a slope, sequences of different
/// lengths, an empty prompt, a single step, and a long run.
static std::vector<Case> decodeGrid() {
  std::vector<Case> cases;
  auto base = [](unsigned seed) {
    Case c;
    c.op = "decode";
    c.b = 2;
    c.hq = 4;
    c.hkv = 2;
    c.m = 24;
    c.n = 16;
    c.d = 8;
    c.dv = 6;
    c.k = 4;
    c.w = 3;
    c.seed = seed;
    return c;
  };
  unsigned seed = 500;
  const int64_t groups[] = {1, 2, 4, 8};
  for (int g = 0; g < 4; ++g)
    for (Dtype t : kDtypes) {
      Case c = base(seed++);
      c.gate = kGates[g];
      c.dtype = t;
      c.hq = c.hkv * groups[(g + static_cast<int>(t)) % 4];
      c.ragged = g % 2 == 1;
      cases.push_back(c);
    }
  auto add = [&](auto edit) {
    Case c = base(seed++);
    edit(c);
    cases.push_back(c);
  };
  add([](Case &c) { c.w = 0; });
  add([](Case &c) { c.w = 0; c.m = 0; c.gate = ref::Gate::Logit; });
  add([](Case &c) { c.k = 60; });                      // k beyond the length
  add([](Case &c) { c.w = 50; });                      // window beyond it
  add([](Case &c) { c.scores = Scores::Ties; });
  add([](Case &c) { c.scores = Scores::Equal; });      // band: everything
  add([](Case &c) { c.scores = Scores::Equal; c.cb = 3; }); // overflows
  add([](Case &c) { c.scores = Scores::Ties; c.cb = 0; c.w = 0; });
  add([](Case &c) { c.scores = Scores::NegInf; c.ragged = true; c.b = 4; });
  add([](Case &c) { c.scores = Scores::AllNegInf; });
  add([](Case &c) { c.scores = Scores::Huge; c.dtype = Dtype::BF16; });
  add([](Case &c) { c.scores = Scores::Slope; c.gate = ref::Gate::None; });
  add([](Case &c) { c.m = 0; c.n = 1; c.b = 1; });     // one step, empty
  add([](Case &c) { c.m = 9; c.ragged = true; c.b = 5; }); // empty prompts
  // Shapes of the GPU decode kernels (f16/bf16, D = Dv of 64 or 128):
  // several splits per row, groups of 1 to 16 heads, every gate.
  add([](Case &c) {
    c.dtype = Dtype::BF16;
    c.d = c.dv = 128;
    c.hq = 8;
    c.k = 16;
    c.w = 32;
    c.m = 100;
    c.n = 40;
  });
  add([](Case &c) {
    c.dtype = Dtype::F16;
    c.d = c.dv = 64;
    c.hq = c.hkv = 3;
    c.w = 0;
    c.gate = ref::Gate::Logit;
    c.ragged = true;
    c.b = 3;
  });
  add([](Case &c) {
    c.dtype = Dtype::BF16;
    c.d = c.dv = 64;
    c.hq = 32;
    c.gate = ref::Gate::V;
    c.scores = Scores::Equal;
    c.cb = 3;
  });
  add([](Case &c) {
    c.dtype = Dtype::BF16;
    c.d = c.dv = 128;
    c.b = 1;
    c.hq = 4;
    c.hkv = 1;
    c.k = 64;
    c.w = 64;
    c.m = 700;
    c.n = 200;
    c.gate = ref::Gate::None;
    c.scores = Scores::NegInf;
  });
  // Batches of more than 256 (batch, KV head) rows: one split per row,
  // the update in the attention's launch (window tiles computed during
  // it; the rows it rewrites in tiles already in flight copied again).
  add([](Case &c) {
    c.dtype = Dtype::BF16;
    c.d = c.dv = 64;
    c.b = 40;
    c.hkv = 8;
    c.hq = 32;
    c.k = 40;
    c.w = 60;
    c.m = 120;
    c.n = 24;
    c.ragged = true;
  });
  add([](Case &c) { // groups of 32 heads: two passes of 16
    c.dtype = Dtype::F16;
    c.d = c.dv = 64;
    c.b = 130;
    c.hkv = 2;
    c.hq = 64;
    c.k = 20;
    c.w = 30;
    c.m = 60;
    c.n = 8;
    c.gate = ref::Gate::Logit;
    c.scores = Scores::Ties;
  });
  add([](Case &c) { // a small batch: splits; passes of 16 and 4 heads
    c.dtype = Dtype::F16;
    c.d = c.dv = 128;
    c.b = 2;
    c.hkv = 1;
    c.hq = 20;
    c.k = 24;
    c.w = 40;
    c.m = 90;
    c.n = 20;
    c.gate = ref::Gate::V;
  });
  add([](Case &c) { // a long run
    c.m = 100;
    c.n = 300;
    c.k = 8;
    c.w = 16;
    c.b = 1;
    c.hq = 8;
    c.hkv = 1;
    c.dtype = Dtype::BF16;
  });
  return cases;
}

std::vector<Case> grid(const std::string &name) {
  std::vector<Case> all;
  auto add = [&](std::vector<Case> v) {
    all.insert(all.end(), v.begin(), v.end());
  };
  if (name == "attention" || name == "all")
    add(attentionGrid("attention"));
  if (name == "gathered" || name == "all")
    add(attentionGrid("gathered_attention"));
  if (name == "noncausal" || name == "all")
    add(nonCausalGrid());
  if (name == "selection" || name == "all")
    add(selectionGrid());
  if (name == "mask" || name == "all")
    add(maskGrid());
  if (name == "score" || name == "all")
    add(scoreGrid());
  if (name == "edge" || name == "all")
    add(edgeGrid());
  if (name == "backward" || name == "all")
    add(backwardGrid());
  if (name == "tensorcore" || name == "all")
    add(tensorCoreGrid());
  if (name == "decode" || name == "all")
    add(decodeGrid());
  return all;
}

std::vector<size_t> indicesInAll(const std::vector<Case> &cases,
                                 std::string &missing) {
  std::map<std::string, size_t> index;
  std::vector<Case> all = grid("all");
  for (size_t i = 0; i < all.size(); ++i)
    index.emplace(describe(all[i]), i);
  std::vector<size_t> out;
  for (const Case &c : cases) {
    auto it = index.find(describe(c));
    if (it == index.end()) {
      missing = describe(c);
      return {};
    }
    out.push_back(it->second);
  }
  return out;
}

} // namespace sparsek::check
