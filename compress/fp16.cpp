#include "compress/fp16.h"

#include <bit>
#include <cmath>
#include <string>

#include "compress/byte_io.h"
#include "compress/codec.h"

namespace edgefl::compress {

uint16_t FloatToHalf(float x) {
  const uint32_t f = std::bit_cast<uint32_t>(x);
  const auto sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  uint32_t abs = f & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // Inf, NaN (keeps a quiet NaN's top payload bits)
    return static_cast<uint16_t>(sign | 0x7C00u |
                                 (abs > 0x7F800000u ? 0x200u | ((abs >> 13) & 0x3FFu) : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520: Inf
  if (abs < 0x38800000u) {
    // Below 2^-14: a binary16 subnormal m * 2^-24. The product is exact (a
    // power of two); nearbyint rounds to nearest even; m = 1024 is the
    // smallest normal, whose bits are the same.
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: re-bias the exponent (127 -> 15) and round the 13 dropped
  // mantissa bits to nearest even (a carry may step into the exponent).
  const uint32_t odd = (abs >> 13) & 1u;
  abs += 0xC8000000u + 0xFFFu + odd;
  return static_cast<uint16_t>(sign | (abs >> 13));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

void EncodeFp16(std::span<const float> values, std::vector<uint8_t>* out) {
  out->reserve(out->size() + 4 + 2 * values.size());
  detail::PutU32(out, static_cast<uint32_t>(values.size()));
  for (float v : values)
    detail::PutU16(out, FloatToHalf(v));
}

size_t ValidateFp16(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4)
    throw CodecError("fp16: " + std::to_string(bytes.size()) + " bytes, no length");
  const size_t n = detail::GetU32(bytes.data());
  if (bytes.size() != 4 + 2 * n) {
    throw CodecError("fp16: n = " + std::to_string(n) + " needs " + std::to_string(4 + 2 * n) +
                     " bytes but has " + std::to_string(bytes.size()));
  }
  return n;
}

void DecodeAddFp16(std::span<const uint8_t> bytes, std::span<float> target) {
  const uint8_t* p = bytes.data() + 4;
  for (size_t i = 0; i < target.size(); ++i)
    target[i] += HalfToFloat(detail::GetU16(p + 2 * i));
}

}  // namespace edgefl::compress
