// Shamir sharing over GF(2^61 − 1): any t shares rebuild, fewer do not.
#include "privacy/shamir.h"

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::privacy {
namespace {

std::vector<uint8_t> RandomSecret(Rng& rng, size_t bytes) {
  std::vector<uint8_t> s(bytes);
  for (uint8_t& b : s)
    b = static_cast<uint8_t>(rng.UniformInt(256));
  return s;
}

}  // namespace

TEST_CASE("field arithmetic mod 2^61 - 1 on hand values") {
  CHECK(FieldMul(kShamirPrime - 1, kShamirPrime - 1) == 1);  // (−1)² = 1
  CHECK(FieldMul(uint64_t{1} << 60, 2) == 1);                // 2^61 ≡ 1
  for (uint64_t a : std::vector<uint64_t>{2, 3, 12345678901ull, kShamirPrime - 2}) {
    CHECK(FieldMul(a, FieldInverse(a)) == 1);
  }
  CHECK_THROWS_AS(FieldInverse(0), Error);
}

TEST_CASE("any t of n shares rebuild a 32-byte secret") {
  Rng rng(11);
  const std::vector<uint8_t> secret = RandomSecret(rng, 32);
  const std::vector<uint64_t> xs = {1, 2, 3, 4, 5};
  const std::vector<ShamirShare> shares = ShamirSplit(secret, 3, xs);
  REQUIRE(shares.size() == 5);
  CHECK(shares[0].y.size() == 5);  // ⌈32/7⌉ chunks
  for (size_t a = 0; a < 5; ++a) {
    for (size_t b = a + 1; b < 5; ++b) {
      for (size_t c = b + 1; c < 5; ++c) {
        const std::vector<ShamirShare> pick = {shares[c], shares[a], shares[b]};
        CHECK(ShamirReconstruct(pick, 3, 32) == secret);
      }
    }
  }
  // More than t shares: the first t are used, the result is the same.
  CHECK(ShamirReconstruct(shares, 3, 32) == secret);
}

TEST_CASE("fewer than t shares neither reconstruct nor interpolate to the secret") {
  Rng rng(12);
  const std::vector<uint64_t> xs = {3, 8, 9, 20};
  int equal = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<uint8_t> secret = RandomSecret(rng, 32);
    const std::vector<ShamirShare> shares = ShamirSplit(secret, 3, xs);
    const std::vector<ShamirShare> two = {shares[0], shares[2]};
    CHECK_THROWS_WITH_AS(ShamirReconstruct(two, 3, 32),
                         "shamir: 2 shares given, 3 needed to reconstruct", Error);
    if (ShamirInterpolate(two, 32) == secret) ++equal;
  }
  CHECK(equal == 0);
}

TEST_CASE("a single share is uniform whatever the secret") {
  // With t = 2 the share at x is secret + a·x with a uniform: the first
  // chunk's share of the all-zero and the all-0xff secret look alike.
  const std::vector<uint64_t> xs = {1, 2};
  const std::vector<uint8_t> zeros(32, 0);
  const std::vector<uint8_t> ones(32, 0xff);
  double mean_zero = 0;
  double mean_one = 0;
  const int trials = 400;
  const auto prime = static_cast<double>(kShamirPrime);
  for (int i = 0; i < trials; ++i) {
    mean_zero += static_cast<double>(ShamirSplit(zeros, 2, xs)[0].y[0]) / prime / trials;
    mean_one += static_cast<double>(ShamirSplit(ones, 2, xs)[0].y[0]) / prime / trials;
  }
  // Uniform on [0, 1): mean 0.5, standard error 0.29/√400 ≈ 0.014.
  CHECK(mean_zero == doctest::Approx(0.5).epsilon(0.12));
  CHECK(mean_one == doctest::Approx(0.5).epsilon(0.12));
}

TEST_CASE("bad Shamir arguments are refused") {
  const std::vector<uint8_t> secret(32, 1);
  CHECK_THROWS_AS(ShamirSplit(secret, 0, std::vector<uint64_t>{1, 2}), Error);
  CHECK_THROWS_AS(ShamirSplit(secret, 3, std::vector<uint64_t>{1, 2}), Error);
  CHECK_THROWS_AS(ShamirSplit(secret, 2, std::vector<uint64_t>{0, 2}), Error);
  CHECK_THROWS_AS(ShamirSplit(secret, 2, std::vector<uint64_t>{2, 2}), Error);
}

}  // namespace edgefl::privacy
