// The codecs of compressed updates and the run's choice of one
// (docs/algorithms.md, Compressed updates; byte layouts in docs/protocol.md).
//
// Every codec turns a float vector into bytes and back. Each encoding starts
// with the vector's length n (u32, little-endian), so a decoder can refuse a
// vector of the wrong length before it allocates anything:
//
//   none  (fp32)  u32 n, n x f32                                 4 + 4n bytes
//   fp16          u32 n, n x u16 (IEEE binary16)                 4 + 2n bytes
//   int8          u32 n, u32 block, ceil(n/block) x f32 scale,   8 + 4 ceil(n/block) + n
//                 n x i8
//   topk          u32 n, u32 k, k x u32 index (increasing),      8 + 8k bytes
//                 k x f32 value
//
// The error bounds of each codec are in its own header (fp16.h,
// int8_blocks.h, top_k.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::compress {

// A malformed encoding: wrong length for its header, an index out of range,
// a block size of 0. The wire turns it into a ProtocolError naming the
// message and field.
class CodecError : public DataError {
 public:
  using DataError::DataError;
};

// The numbers are the wire's (CompressedModel / CompressedUpdate.codec).
enum class Codec : uint8_t { kNone = 0, kFp16 = 1, kInt8 = 2, kTopK = 3 };

// "none", "fp16", "int8", "topk".
std::string_view CodecName(Codec codec);
// The codec named `name`; throws ConfigError naming `key` and the choices.
Codec ParseCodec(std::string_view name, std::string_view key);
// True for the values above.
bool IsKnownCodec(uint8_t value);

// The streams of the int8 codec's stochastic rounding, derived from a
// task's recipe seed: Rng::Derive(recipe.seed, {kUplinkRoundingStream}) on
// the device, {kDownlinkRoundingStream} for the model delta. The simulator
// and edgefl-client/-coordinator draw the same, so a task's bytes are the
// same in both.
inline constexpr uint64_t kUplinkRoundingStream = 0xC0DEC001;
inline constexpr uint64_t kDownlinkRoundingStream = 0xC0DEC002;

// A run's compression (the [run] keys compression, compression_topk_fraction,
// compression_int8_block; read in engine/experiment_config.cpp).
struct CompressionConfig {
  Codec codec = Codec::kNone;
  double topk_fraction = 0.01;  // topk: fraction of the coordinates sent, in (0, 1]
  uint32_t int8_block = 256;    // int8: coordinates sharing one scale, in [1, 2^20]
  bool enabled() const { return codec != Codec::kNone; }
};

// The size of the encoding of n coordinates under config.codec (exact: every
// layout's size depends on n and the config only); 4n for kNone (the plain
// float32 vector, without codec.h's length prefix).
size_t EncodedSize(const CompressionConfig& config, size_t n);

// The encoding of `values` with `codec`. `rng` is drawn from by int8 only
// (stochastic rounding, one Uniform() per coordinate in order), so the same
// generator state gives the same bytes.
std::vector<uint8_t> Encode(std::span<const float> values, const CompressionConfig& config,
                            Rng& rng);
// Encode with `codec` in place of config.codec.
std::vector<uint8_t> Encode(std::span<const float> values, Codec codec,
                            const CompressionConfig& config, Rng& rng);

// The length n an encoding declares. Throws CodecError if it is malformed:
// its size does not match what its header declares (a top-k encoding
// shorter than its k needs, ...), an index is out of range or not
// increasing, a block size is 0. Allocates nothing.
size_t Validate(Codec codec, std::span<const uint8_t> bytes);

// The decoded vector. Throws CodecError as Validate, and if the declared
// length is not `expected_length` (checked before allocating).
std::vector<float> Decode(Codec codec, std::span<const uint8_t> bytes, size_t expected_length);

// Adds the decoded vector to `target` (target.size() must be its length),
// without materialising it: what both ends of a model delta do.
void DecodeAdd(Codec codec, std::span<const uint8_t> bytes, std::span<float> target);

}  // namespace edgefl::compress
