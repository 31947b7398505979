// fp16: each coordinate as an IEEE-754 binary16, rounded to nearest, ties to
// even. Layout: u32 n, n x u16 (codec.h).
//
// Error bound, for every coordinate x with |x| <= 65504 (the largest
// binary16): |decode(x) - x| <= max(2^-11 |x|, 2^-25) (half a unit in the
// last place: 2^-11 relative for normals, 2^-25 absolute for the
// subnormals below 2^-14). Values that round past 65504 become +-Inf, NaN
// stays NaN: a non-finite update stays non-finite, and the round engine
// rejects it as it would the uncompressed one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace edgefl::compress {

uint16_t FloatToHalf(float x);
float HalfToFloat(uint16_t h);

// Appends the encoding of `values`.
void EncodeFp16(std::span<const float> values, std::vector<uint8_t>* out);
// The declared length; CodecError if the size is not 4 + 2n.
size_t ValidateFp16(std::span<const uint8_t> bytes);
// target += decoded. REQUIRES: ValidateFp16(bytes) == target.size().
void DecodeAddFp16(std::span<const uint8_t> bytes, std::span<float> target);

}  // namespace edgefl::compress
