#include "compress/top_k.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "compress/byte_io.h"
#include "compress/codec.h"

namespace edgefl::compress {

size_t TopKCount(size_t n, double fraction) {
  if (n == 0) return 0;
  const double k = std::ceil(fraction * static_cast<double>(n));
  return std::clamp(static_cast<size_t>(k), size_t{1}, n);
}

std::vector<uint32_t> TopKIndices(std::span<const float> values, size_t k) {
  const auto magnitude = [&values](uint32_t i) {
    const float v = values[i];
    return std::isnan(v) ? std::numeric_limits<float>::infinity() : std::abs(v);
  };
  std::vector<uint32_t> order(values.size());
  std::iota(order.begin(), order.end(), 0u);
  // Larger magnitude first, the lower index on a tie: a strict total order.
  const auto before = [&magnitude](uint32_t a, uint32_t b) {
    const float ma = magnitude(a);
    const float mb = magnitude(b);
    return ma != mb ? ma > mb : a < b;
  };
  if (k < order.size()) {
    std::nth_element(order.begin(), order.begin() + static_cast<long>(k), order.end(), before);
  }
  order.resize(k);
  std::sort(order.begin(), order.end());
  return order;
}

void EncodeTopK(std::span<const float> values, double fraction, std::vector<uint8_t>* out) {
  const std::vector<uint32_t> indices = TopKIndices(values, TopKCount(values.size(), fraction));
  out->reserve(out->size() + 8 + 8 * indices.size());
  detail::PutU32(out, static_cast<uint32_t>(values.size()));
  detail::PutU32(out, static_cast<uint32_t>(indices.size()));
  for (uint32_t i : indices)
    detail::PutU32(out, i);
  for (uint32_t i : indices)
    detail::PutF32(out, values[i]);
}

size_t ValidateTopK(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) {
    throw CodecError("top-k: " + std::to_string(bytes.size()) + " bytes, no header");
  }
  const size_t n = detail::GetU32(bytes.data());
  const size_t k = detail::GetU32(bytes.data() + 4);
  if (k > n) {
    throw CodecError("top-k: k = " + std::to_string(k) + " is more than n = " + std::to_string(n));
  }
  if (bytes.size() != 8 + 8 * k) {
    throw CodecError("top-k: k = " + std::to_string(k) + " needs " + std::to_string(8 + 8 * k) +
                     " bytes but has " + std::to_string(bytes.size()));
  }
  const uint8_t* indices = bytes.data() + 8;
  for (size_t j = 0; j < k; ++j) {
    const uint32_t i = detail::GetU32(indices + 4 * j);
    if (i >= n || (j > 0 && i <= detail::GetU32(indices + 4 * (j - 1)))) {
      throw CodecError("top-k: index " + std::to_string(i) + " at position " + std::to_string(j) +
                       (i >= n ? " is out of range for n = " + std::to_string(n)
                               : std::string(" does not increase")));
    }
  }
  return n;
}

void DecodeAddTopK(std::span<const uint8_t> bytes, std::span<float> target) {
  const size_t k = detail::GetU32(bytes.data() + 4);
  const uint8_t* indices = bytes.data() + 8;
  const uint8_t* values = indices + 4 * k;
  for (size_t j = 0; j < k; ++j)
    target[detail::GetU32(indices + 4 * j)] += detail::GetF32(values + 4 * j);
}

}  // namespace edgefl::compress
