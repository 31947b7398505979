// top-k sparsification: the k coordinates of largest magnitude, sent exactly
// as float32 with their indices; every other coordinate decodes to 0.
// k = TopKCount(n, fraction). Layout: u32 n, u32 k, k x u32 index (strictly
// increasing), k x f32 value (codec.h). Ties in magnitude go to the lower
// index, and NaN counts as the largest magnitude (a non-finite update stays
// non-finite), so the choice is deterministic.
//
// Error bound: decode(x) equals x on the k chosen coordinates, bit for bit,
// and is 0 elsewhere, where every |x_j| <= the smallest chosen |x_i|; so
// x - decode(x) is exactly the unsent part (the residual error feedback
// keeps, error_feedback.h) and ||x - decode(x)||^2 <= (1 - k/n) ||x||^2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgefl::compress {

// max(1, ceil(fraction * n)), at most n; 0 when n == 0. REQUIRES: fraction in (0, 1].
size_t TopKCount(size_t n, double fraction);

// The indices of the k largest |values|, increasing. REQUIRES: k <= size.
std::vector<uint32_t> TopKIndices(std::span<const float> values, size_t k);

// Appends the encoding of the TopKCount(n, fraction) largest coordinates.
void EncodeTopK(std::span<const float> values, double fraction, std::vector<uint8_t>* out);
// The declared length; CodecError if k > n, the size is not 8 + 8k ("top-k:
// k = 100 needs 808 bytes but has 40"), or an index is out of range or not
// increasing.
size_t ValidateTopK(std::span<const uint8_t> bytes);
// target += decoded. REQUIRES: ValidateTopK(bytes) == target.size().
void DecodeAddTopK(std::span<const uint8_t> bytes, std::span<float> target);

}  // namespace edgefl::compress
