#include "compress/int8_blocks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "compress/byte_io.h"
#include "compress/codec.h"

namespace edgefl::compress {

void EncodeInt8(std::span<const float> values, uint32_t block, Rng& rng,
                std::vector<uint8_t>* out) {
  const size_t n = values.size();
  const size_t blocks = (n + block - 1) / block;
  out->reserve(out->size() + 8 + 4 * blocks + n);
  detail::PutU32(out, static_cast<uint32_t>(n));
  detail::PutU32(out, block);
  const size_t scales_at = out->size();
  out->resize(scales_at + 4 * blocks + n);
  for (size_t b = 0; b < blocks; ++b) {
    const size_t begin = b * block;
    const size_t end = std::min(n, begin + block);
    float max_abs = 0.0f;
    bool finite = true;
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(values[i])) finite = false;
      max_abs = std::max(max_abs, std::abs(values[i]));
    }
    const float scale = finite ? max_abs / 127.0f : std::numeric_limits<float>::quiet_NaN();
    detail::StoreF32(out->data() + scales_at + 4 * b, scale);
    uint8_t* q = out->data() + scales_at + 4 * blocks;
    for (size_t i = begin; i < end; ++i) {
      const double u = rng.Uniform();
      int level = 0;
      if (finite && scale > 0.0f) {
        const double t = static_cast<double>(values[i]) / static_cast<double>(scale);
        level = static_cast<int>(std::clamp(std::floor(t + u), -127.0, 127.0));
      }
      q[i] = static_cast<uint8_t>(static_cast<int8_t>(level));
    }
  }
}

size_t ValidateInt8(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) {
    throw CodecError("int8: " + std::to_string(bytes.size()) + " bytes, no header");
  }
  const size_t n = detail::GetU32(bytes.data());
  const size_t block = detail::GetU32(bytes.data() + 4);
  if (block == 0) throw CodecError("int8: block size 0");
  const size_t blocks = (n + block - 1) / block;
  const size_t needed = 8 + 4 * blocks + n;
  if (bytes.size() != needed) {
    throw CodecError("int8: n = " + std::to_string(n) + " in blocks of " + std::to_string(block) +
                     " needs " + std::to_string(needed) + " bytes but has " +
                     std::to_string(bytes.size()));
  }
  return n;
}

void DecodeAddInt8(std::span<const uint8_t> bytes, std::span<float> target) {
  const size_t n = target.size();
  const size_t block = detail::GetU32(bytes.data() + 4);
  const size_t blocks = (n + block - 1) / block;
  const uint8_t* scales = bytes.data() + 8;
  const uint8_t* q = scales + 4 * blocks;
  for (size_t b = 0; b < blocks; ++b) {
    const float scale = detail::GetF32(scales + 4 * b);
    const size_t end = std::min(n, (b + 1) * block);
    for (size_t i = b * block; i < end; ++i)
      target[i] += static_cast<float>(static_cast<int8_t>(q[i])) * scale;
  }
}

}  // namespace edgefl::compress
