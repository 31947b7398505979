#include "compress/codec.h"

#include <string>

#include "compress/byte_io.h"
#include "compress/fp16.h"
#include "compress/int8_blocks.h"
#include "compress/top_k.h"

namespace edgefl::compress {
namespace {

void EncodeFp32(std::span<const float> values, std::vector<uint8_t>* out) {
  out->reserve(out->size() + 4 + 4 * values.size());
  detail::PutU32(out, static_cast<uint32_t>(values.size()));
  for (float v : values)
    detail::PutF32(out, v);
}

size_t ValidateFp32(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4) {
    throw CodecError("fp32: " + std::to_string(bytes.size()) + " bytes, no length");
  }
  const size_t n = detail::GetU32(bytes.data());
  if (bytes.size() != 4 + 4 * n) {
    throw CodecError("fp32: n = " + std::to_string(n) + " needs " + std::to_string(4 + 4 * n) +
                     " bytes but has " + std::to_string(bytes.size()));
  }
  return n;
}

}  // namespace

std::string_view CodecName(Codec codec) {
  switch (codec) {
    case Codec::kNone:
      return "none";
    case Codec::kFp16:
      return "fp16";
    case Codec::kInt8:
      return "int8";
    case Codec::kTopK:
      return "topk";
  }
  return "unknown";
}

Codec ParseCodec(std::string_view name, std::string_view key) {
  for (Codec c : {Codec::kNone, Codec::kFp16, Codec::kInt8, Codec::kTopK}) {
    if (name == CodecName(c)) return c;
  }
  throw ConfigError(std::string(key) + " '" + std::string(name) +
                    "' is not known (expected none, fp16, int8 or topk)");
}

bool IsKnownCodec(uint8_t value) {
  return value <= static_cast<uint8_t>(Codec::kTopK);
}

size_t EncodedSize(const CompressionConfig& config, size_t n) {
  switch (config.codec) {
    case Codec::kNone:
      return 4 * n;
    case Codec::kFp16:
      return 4 + 2 * n;
    case Codec::kInt8:
      return 8 + 4 * ((n + config.int8_block - 1) / config.int8_block) + n;
    case Codec::kTopK:
      return 8 + 8 * TopKCount(n, config.topk_fraction);
  }
  return 4 * n;
}

std::vector<uint8_t> Encode(std::span<const float> values, const CompressionConfig& config,
                            Rng& rng) {
  return Encode(values, config.codec, config, rng);
}

std::vector<uint8_t> Encode(std::span<const float> values, Codec codec,
                            const CompressionConfig& config, Rng& rng) {
  std::vector<uint8_t> out;
  switch (codec) {
    case Codec::kNone:
      EncodeFp32(values, &out);
      break;
    case Codec::kFp16:
      EncodeFp16(values, &out);
      break;
    case Codec::kInt8:
      EncodeInt8(values, config.int8_block, rng, &out);
      break;
    case Codec::kTopK:
      EncodeTopK(values, config.topk_fraction, &out);
      break;
  }
  return out;
}

size_t Validate(Codec codec, std::span<const uint8_t> bytes) {
  switch (codec) {
    case Codec::kNone:
      return ValidateFp32(bytes);
    case Codec::kFp16:
      return ValidateFp16(bytes);
    case Codec::kInt8:
      return ValidateInt8(bytes);
    case Codec::kTopK:
      return ValidateTopK(bytes);
  }
  throw CodecError("unknown codec " + std::to_string(static_cast<unsigned>(codec)));
}

void DecodeAdd(Codec codec, std::span<const uint8_t> bytes, std::span<float> target) {
  const size_t n = Validate(codec, bytes);
  if (n != target.size()) {
    throw CodecError(std::string(CodecName(codec)) + ": " + std::to_string(n) +
                     " coordinates where " + std::to_string(target.size()) + " are expected");
  }
  switch (codec) {
    case Codec::kNone:
      for (size_t i = 0; i < n; ++i)
        target[i] += detail::GetF32(bytes.data() + 4 + 4 * i);
      break;
    case Codec::kFp16:
      DecodeAddFp16(bytes, target);
      break;
    case Codec::kInt8:
      DecodeAddInt8(bytes, target);
      break;
    case Codec::kTopK:
      DecodeAddTopK(bytes, target);
      break;
  }
}

std::vector<float> Decode(Codec codec, std::span<const uint8_t> bytes, size_t expected_length) {
  const size_t n = Validate(codec, bytes);
  if (n != expected_length) {
    throw CodecError(std::string(CodecName(codec)) + ": " + std::to_string(n) +
                     " coordinates where " + std::to_string(expected_length) + " are expected");
  }
  std::vector<float> out(n, 0.0f);
  DecodeAdd(codec, bytes, out);
  return out;
}

}  // namespace edgefl::compress
