//===- Float16.h - f16 and bf16 storage conversions -------------*- C++ -*-===//
//
// Round-to-nearest-even float <-> IEEE half and bfloat16 bit patterns, so
// that test inputs can be stored in the element types the kernels read.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSEK_SUPPORT_FLOAT16_H
#define SPARSEK_SUPPORT_FLOAT16_H

#include <cstdint>
#include <cstring>

namespace sparsek {

inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t toBF16(float f) {
  uint32_t u = bitsOf(f);
  if ((u & 0x7fffffff) > 0x7f800000) // NaN stays NaN
    return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

inline float fromBF16(uint16_t h) { return floatOf(uint32_t(h) << 16); }

inline uint16_t toF16(float f) {
  uint32_t u = bitsOf(f);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t absU = u & 0x7fffffff;
  if (absU >= 0x7f800000) // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00 | (absU > 0x7f800000 ? 0x200 : 0));
  if (absU >= 0x477ff000) // rounds to >= 65520: overflow to inf
    return static_cast<uint16_t>(sign | 0x7c00);
  if (absU < 0x38800000) { // subnormal half (or zero)
    float a = floatOf(absU);
    // a * 2^24 rounded to nearest even gives the subnormal mantissa.
    float scaled = a * 16777216.0f;
    uint32_t m = static_cast<uint32_t>(scaled);
    float rem = scaled - static_cast<float>(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1)))
      ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t e = ((absU >> 23) - 127 + 15) << 10;
  uint32_t mant = absU & 0x7fffff;
  uint32_t h = e | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float fromF16(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) { // zero or subnormal
    float v = static_cast<float>(m) / 16777216.0f;
    return sign ? -v : v;
  }
  if (e == 31)
    return floatOf(sign | 0x7f800000 | (m << 13));
  return floatOf(sign | ((e - 15 + 127) << 23) | (m << 13));
}

} // namespace sparsek

#endif // SPARSEK_SUPPORT_FLOAT16_H
