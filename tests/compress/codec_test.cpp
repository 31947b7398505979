// The codecs of compressed updates: exact values on hand examples, and the
// documented error bound of each codec on random vectors
// (compress/fp16.h, int8_blocks.h, top_k.h).
#include "compress/codec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "compress/fp16.h"
#include "compress/top_k.h"

namespace edgefl::compress {
namespace {

// Values over many magnitudes, signs mixed, a few exact zeros.
std::vector<float> RandomValues(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double magnitude = std::pow(10.0, -9.0 + 13.0 * rng.Uniform());  // 1e-9 .. 1e4
    out[i] = static_cast<float>((rng.Uniform() < 0.5 ? -1.0 : 1.0) * magnitude);
    if (i % 97 == 0) out[i] = 0.0f;
  }
  return out;
}

CompressionConfig With(Codec codec) {
  CompressionConfig c;
  c.codec = codec;
  return c;
}

}  // namespace

TEST_CASE("fp16 codec: hand values round to nearest even") {
  CHECK(FloatToHalf(1.0f) == 0x3C00);
  CHECK(FloatToHalf(-2.0f) == 0xC000);
  CHECK(FloatToHalf(65504.0f) == 0x7BFF);                          // the largest half
  CHECK(FloatToHalf(65519.0f) == 0x7BFF);                          // below the tie
  CHECK(FloatToHalf(65520.0f) == 0x7C00);                          // the tie rounds to even: Inf
  CHECK(FloatToHalf(std::ldexp(1.0f, -24)) == 0x0001);             // the smallest subnormal
  CHECK(FloatToHalf(std::ldexp(1.0f, -25)) == 0x0000);             // tie with 0: even
  CHECK(FloatToHalf(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie: even (down)
  CHECK(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie: even (up)
  CHECK(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  CHECK(HalfToFloat(FloatToHalf(-std::numeric_limits<float>::infinity())) ==
        -std::numeric_limits<float>::infinity());
  CHECK(HalfToFloat(0x3555) == 0.333251953125f);  // 2^-2 (1 + 341/1024)
  // Every half decodes and re-encodes to itself (NaNs aside).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0) continue;
    REQUIRE(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))) == h);
  }
}

TEST_CASE("fp16 codec: decode(encode(x)) is within half a unit in the last place") {
  const std::vector<float> x = RandomValues(20000, 1);
  Rng unused(0);
  const std::vector<uint8_t> bytes = Encode(x, With(Codec::kFp16), unused);
  CHECK(bytes.size() == 4 + 2 * x.size());
  const std::vector<float> y = Decode(Codec::kFp16, bytes, x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double bound = std::max(std::ldexp(std::abs(double{x[i]}), -11), std::ldexp(1.0, -25));
    REQUIRE(std::abs(double{y[i]} - double{x[i]}) <= bound);
  }
}

TEST_CASE("int8 codec: a hand example and its layout") {
  // Block 2: {1.27, -0.635} has scale 0.01, {0, 0} scale 0, {0.5} scale 0.5/127.
  const std::vector<float> x = {1.27f, -0.635f, 0.0f, 0.0f, 0.5f};
  CompressionConfig config = With(Codec::kInt8);
  config.int8_block = 2;
  Rng rng(7);
  const std::vector<uint8_t> bytes = Encode(x, config, rng);
  CHECK(bytes.size() == 8 + 4 * 3 + 5);
  const std::vector<float> y = Decode(Codec::kInt8, bytes, 5);
  CHECK(y[0] == doctest::Approx(1.27f));             // the block's max is exact: q = 127
  CHECK(std::abs(y[1] + 0.635f) < 0.01f * 1.0001f);  // -63 or -64 steps of 0.01
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == 0.0f);
  CHECK(y[4] == doctest::Approx(0.5f));
}

TEST_CASE("int8 codec: the error is under one step and the rounding is unbiased") {
  const std::vector<float> x = RandomValues(5000, 2);
  for (uint32_t block : {1u, 7u, 256u, 100000u}) {
    CompressionConfig config = With(Codec::kInt8);
    config.int8_block = block;
    Rng rng(block);
    const std::vector<uint8_t> bytes = Encode(x, config, rng);
    const std::vector<float> y = Decode(Codec::kInt8, bytes, x.size());
    for (size_t b = 0; b * block < x.size(); ++b) {
      const size_t end = std::min(x.size(), (b + 1) * size_t{block});
      float max_abs = 0.0f;
      for (size_t i = b * block; i < end; ++i)
        max_abs = std::max(max_abs, std::abs(x[i]));
      const double step = double{max_abs / 127.0f} * (1.0 + std::ldexp(1.0, -17));
      for (size_t i = b * block; i < end; ++i)
        REQUIRE(std::abs(double{y[i]} - double{x[i]}) <= step);
    }
  }
  // Unbiased: the mean of 4000 seeded encodings of 0.3 in a block with max
  // 1 (step 1/127) is 0.3 within 4 standard errors.
  const std::vector<float> v = {1.0f, 0.3f};
  CompressionConfig config = With(Codec::kInt8);
  double sum = 0.0;
  Rng rng(11);
  for (int t = 0; t < 4000; ++t)
    sum += Decode(Codec::kInt8, Encode(v, config, rng), 2)[1];
  const double step = 1.0 / 127.0;
  CHECK(std::abs(sum / 4000 - 0.3) < 4 * 0.5 * step / std::sqrt(4000.0));
}

TEST_CASE("int8 codec: the same seed gives the same bytes and NaN stays NaN") {
  const std::vector<float> x = RandomValues(1000, 3);
  Rng a(5), b(5), c(6);
  const CompressionConfig config = With(Codec::kInt8);
  CHECK(Encode(x, config, a) == Encode(x, config, b));
  CHECK(Encode(x, config, a) != Encode(x, config, c));
  std::vector<float> bad = x;
  bad[300] = std::nanf("");
  Rng d(5);
  const std::vector<float> y = Decode(Codec::kInt8, Encode(bad, config, d), bad.size());
  CHECK(std::isnan(y[256]));  // the whole block 256..511
  CHECK(std::isnan(y[511]));
  CHECK(std::isfinite(y[255]));
}

TEST_CASE("top-k codec: the largest magnitudes, ties to the lower index, exact values") {
  const std::vector<float> x = {0.5f, -3.0f, 2.0f, 0.0f, -3.0f, 1.0f};
  CHECK(TopKCount(6, 0.4) == 3);  // ceil(2.4)
  CHECK(TopKCount(6, 0.01) == 1);
  CHECK(TopKCount(0, 0.5) == 0);
  CHECK(TopKIndices(x, 1) == std::vector<uint32_t>{1});
  CHECK(TopKIndices(x, 3) == std::vector<uint32_t>{1, 2, 4});
  CompressionConfig config = With(Codec::kTopK);
  config.topk_fraction = 0.4;
  Rng unused(0);
  const std::vector<uint8_t> bytes = Encode(x, config, unused);
  CHECK(bytes.size() == 8 + 8 * 3);
  CHECK(Decode(Codec::kTopK, bytes, 6) == std::vector<float>{0.0f, -3.0f, 2.0f, 0.0f, -3.0f, 0.0f});
}

TEST_CASE("top-k codec: every unsent coordinate is no larger than the smallest sent") {
  const std::vector<float> x = RandomValues(3000, 4);
  CompressionConfig config = With(Codec::kTopK);
  config.topk_fraction = 0.05;
  Rng unused(0);
  const std::vector<float> y = Decode(Codec::kTopK, Encode(x, config, unused), x.size());
  float smallest_sent = std::numeric_limits<float>::infinity();
  float largest_unsent = 0.0f;
  size_t sent = 0;
  double error = 0.0, norm = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (y[i] != 0.0f) {
      REQUIRE(y[i] == x[i]);  // bit for bit
      smallest_sent = std::min(smallest_sent, std::abs(x[i]));
      ++sent;
    } else {
      largest_unsent = std::max(largest_unsent, std::abs(x[i]));
    }
    error += double{x[i] - y[i]} * double{x[i] - y[i]};
    norm += double{x[i]} * double{x[i]};
  }
  CHECK(sent == 150);
  CHECK(largest_unsent <= smallest_sent);
  CHECK(error <= (1.0 - 150.0 / 3000.0) * norm);
}

TEST_CASE("codec validation: a top-k encoding too short for its k is refused by name") {
  CompressionConfig config = With(Codec::kTopK);
  config.topk_fraction = 0.5;
  Rng unused(0);
  std::vector<uint8_t> bytes = Encode(std::vector<float>(10, 1.0f), config, unused);  // k = 5
  CHECK(Validate(Codec::kTopK, bytes) == 10);
  bytes.resize(40);
  CHECK_THROWS_WITH_AS(Validate(Codec::kTopK, bytes), "top-k: k = 5 needs 48 bytes but has 40",
                       CodecError);
  // An index out of order.
  std::vector<uint8_t> swapped = Encode(std::vector<float>{1, 2, 3, 4}, config, unused);
  std::swap(swapped[8], swapped[12]);
  CHECK_THROWS_WITH_AS(Validate(Codec::kTopK, swapped), doctest::Contains("does not increase"),
                       CodecError);
  // k > n, an int8 block of 0, an fp16 vector of the wrong size, the wrong length.
  std::vector<uint8_t> big_k = {2, 0, 0, 0, 3, 0, 0, 0};
  CHECK_THROWS_WITH_AS(Validate(Codec::kTopK, big_k), "top-k: k = 3 is more than n = 2",
                       CodecError);
  CHECK_THROWS_WITH_AS(Validate(Codec::kInt8, std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0}),
                       "int8: block size 0", CodecError);
  CHECK_THROWS_AS(Validate(Codec::kFp16, std::vector<uint8_t>{2, 0, 0, 0, 1}), CodecError);
  CHECK_THROWS_WITH_AS(
      Decode(Codec::kFp16, Encode(std::vector<float>(3, 1.0f), With(Codec::kFp16), unused), 4),
      "fp16: 3 coordinates where 4 are expected", CodecError);
}

TEST_CASE("codec sizes: EncodedSize is the size Encode writes") {
  const std::vector<float> x = RandomValues(1001, 5);
  for (Codec codec : {Codec::kFp16, Codec::kInt8, Codec::kTopK}) {
    CompressionConfig config = With(codec);
    config.int8_block = 100;
    config.topk_fraction = 0.03;
    Rng rng(1);
    CHECK(EncodedSize(config, x.size()) == Encode(x, config, rng).size());
  }
  CHECK(EncodedSize(With(Codec::kInt8), 61'706) == 62'682);  // LeNet: 242 blocks of 256
  CHECK(EncodedSize(With(Codec::kNone), 10) == 40);          // the plain float32 vector
}

TEST_CASE("codec names parse and unknown ones are refused with the choices") {
  CHECK(ParseCodec("topk", "compression") == Codec::kTopK);
  CHECK(CodecName(Codec::kInt8) == "int8");
  CHECK_THROWS_WITH_AS(ParseCodec("zip", "compression"),
                       "compression 'zip' is not known (expected none, fp16, int8 or topk)",
                       ConfigError);
}

}  // namespace edgefl::compress
