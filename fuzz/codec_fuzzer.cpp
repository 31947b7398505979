// libFuzzer target for the codecs of compressed updates (compress/codec.h):
// the bytes inside a CompressedModel or CompressedUpdate frame, which a
// hostile peer chooses.
//
// Input: byte 0 picks the codec (byte 0 % 4: none, fp16, int8, topk), the
// rest is the encoding.
//
// Properties checked (a violation aborts, which libFuzzer reports):
//   - only CodecError escapes Validate, Decode and DecodeAdd (no other
//     exception, no crash, no sanitizer report, no allocation beyond the
//     declared length);
//   - Validate, Decode and DecodeAdd agree: an encoding one accepts, all
//     accept, with the length Validate declares;
//   - Decode refuses an expected length other than the declared one;
//   - DecodeAdd into zeros gives Decode's values (bit for bit, but for the
//     sign of a zero and NaN payloads).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "compress/codec.h"

namespace {

using edgefl::compress::Codec;
using edgefl::compress::CodecError;

// No run decodes more than this many floats (4 MB): larger declared lengths
// are only validated.
constexpr size_t kMaxLength = size_t{1} << 20;

[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "codec_fuzzer: property violated: %s\n", what);
  std::abort();
}

bool Same(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto codec = static_cast<Codec>(data[0] % 4);
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  size_t n = 0;
  try {
    n = edgefl::compress::Validate(codec, bytes);
  } catch (const CodecError&) {
    // Refused by Validate: Decode must refuse it too, whatever length it expects.
    try {
      edgefl::compress::Decode(codec, bytes, 0);
    } catch (const CodecError&) {
      return 0;
    }
    Violated("Decode accepted what Validate refused");
  }
  if (n > kMaxLength) return 0;
  try {
    edgefl::compress::Decode(codec, bytes, n + 1);
    Violated("Decode accepted a length other than the declared one");
  } catch (const CodecError&) {
  }
  std::vector<float> decoded;
  std::vector<float> added(n, 0.0f);
  try {
    decoded = edgefl::compress::Decode(codec, bytes, n);
    edgefl::compress::DecodeAdd(codec, bytes, added);
  } catch (const CodecError&) {
    Violated("Decode or DecodeAdd refused what Validate accepted");
  }
  if (decoded.size() != n) Violated("Decode gave another length than Validate declared");
  for (size_t i = 0; i < n; ++i) {
    if (!Same(decoded[i], added[i])) Violated("DecodeAdd into zeros differs from Decode");
  }
  return 0;
}
