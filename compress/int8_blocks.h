// int8: coordinates in blocks of `block`; each block stores one scale
// s = max|x| / 127 (float) and each coordinate q = floor(x / s + u) with u
// uniform in [0, 1) from the caller's seeded generator (stochastic rounding),
// q clamped to [-127, 127]; decoded as q * s. Layout: u32 n, u32 block,
// ceil(n/block) x f32 scale, n x i8 (codec.h).
//
// Error bound, per coordinate x of a block with stored scale s:
// |decode(x) - x| < s (1 + 2^-17), i.e. less than one quantisation step (the
// 2^-17 covers the float product q * s). The rounding is unbiased:
// E[q s] = x (q never needs the clamp: |x / s| <= 127 up to float rounding).
// A block holding NaN or +-Inf stores a NaN scale and decodes to NaN, so a
// non-finite update stays non-finite (the round engine rejects it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"

namespace edgefl::compress {

// Appends the encoding; draws exactly values.size() Uniform()s from `rng`.
// REQUIRES: block >= 1.
void EncodeInt8(std::span<const float> values, uint32_t block, Rng& rng, std::vector<uint8_t>* out);
// The declared length; CodecError if block is 0 or the size does not match
// n and block.
size_t ValidateInt8(std::span<const uint8_t> bytes);
// target += decoded. REQUIRES: ValidateInt8(bytes) == target.size().
void DecodeAddInt8(std::span<const uint8_t> bytes, std::span<float> target);

}  // namespace edgefl::compress
