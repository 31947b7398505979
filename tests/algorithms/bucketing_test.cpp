#include "algorithms/bucketing.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/centered_clip.h"
#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/parameter_spans_test_util.h"

namespace edgefl::algorithms {
namespace {

using testing::Spans;

std::vector<ParameterSpan> Spans(const std::vector<Eigen::VectorXf>& vectors) {
  std::vector<ParameterSpan> spans;
  for (const auto& v : vectors)
    spans.emplace_back(v.data(), static_cast<size_t>(v.size()));
  return spans;
}

std::vector<std::vector<float>> RandomVectors(Rng& rng, size_t count, size_t size) {
  std::vector<std::vector<float>> out(count, std::vector<float>(size));
  for (auto& v : out) {
    for (float& x : v)
      x = static_cast<float>(rng.Normal(0.0, 1.0));
  }
  return out;
}

}  // namespace

TEST_CASE("bucketing with bucket size 1 leaves the median and the trimmed mean unchanged") {
  Rng data(5);
  const auto v = RandomVectors(data, 7, 300);
  Rng rng(11);
  const std::vector<Eigen::VectorXf> buckets = BucketMeans(Spans(v), 1, rng);
  REQUIRE(buckets.size() == 7);
  // Each bucket is one input, bit for bit (a permutation of them).
  std::set<size_t> seen;
  for (const Eigen::VectorXf& b : buckets) {
    for (size_t k = 0; k < v.size(); ++k) {
      if (std::equal(v[k].begin(), v[k].end(), b.data())) seen.insert(k);
    }
  }
  CHECK(seen.size() == 7);
  CHECK((CoordinateMedian(Spans(buckets)).array() == CoordinateMedian(Spans(v)).array()).all());
  CHECK((TrimmedMean(Spans(buckets), 0.2).array() == TrimmedMean(Spans(v), 0.2).array()).all());
  // Centered clipping sums in another order: equal up to rounding.
  const std::vector<float> zero(300, 0.0f);
  const CenteredClipOptions cc{.tau = 3.0, .iterations = 3};
  const Eigen::VectorXf a = CenteredClip(Spans(buckets), zero, cc).center;
  const Eigen::VectorXf b = CenteredClip(Spans(v), zero, cc).center;
  CHECK((a - b).cwiseAbs().maxCoeff() < 1e-6f);
}

TEST_CASE("bucketing averages the inputs of each bucket of a seeded permutation") {
  // Values 1, 2, 4, 8, 16 (second coordinate x10): each bucket sum names its
  // members by its bits. s = 2 gives buckets of 2, 2 and 1.
  const std::vector<std::vector<float>> v = {
      {1.0f, 10.0f}, {2.0f, 20.0f}, {4.0f, 40.0f}, {8.0f, 80.0f}, {16.0f, 160.0f}};
  Rng rng(42);
  const std::vector<Eigen::VectorXf> buckets = BucketMeans(Spans(v), 2, rng);
  REQUIRE(buckets.size() == 3);
  Rng same(42);
  const std::vector<size_t> order = BucketOrder(5, same);
  const std::vector<size_t> sizes = {2, 2, 1};
  uint32_t covered = 0;
  for (size_t b = 0; b < 3; ++b) {
    CAPTURE(b);
    const float sum = buckets[b][0] * static_cast<float>(sizes[b]);
    const auto bits = static_cast<uint32_t>(sum);
    CHECK(static_cast<float>(bits) == sum);
    CHECK(std::popcount(bits) == static_cast<int>(sizes[b]));
    CHECK((covered & bits) == 0u);  // disjoint buckets
    covered |= bits;
    CHECK(buckets[b][1] == 10.0f * buckets[b][0]);
    // The bucket holds order[2b], order[2b + 1]: the permutation of the seed.
    uint32_t expected = 0;
    for (size_t i = 2 * b; i < std::min<size_t>(5, 2 * b + 2); ++i)
      expected |= 1u << order[i];
    CHECK(bits == expected);
  }
  CHECK(covered == 31u);  // every input in exactly one bucket

  // The seed fixes the permutation; other seeds give other ones.
  Rng again(42);
  const std::vector<Eigen::VectorXf> repeat = BucketMeans(Spans(v), 2, again);
  for (size_t b = 0; b < 3; ++b)
    CHECK((repeat[b].array() == buckets[b].array()).all());
  std::set<std::vector<size_t>> orders;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng r(seed);
    orders.insert(BucketOrder(5, r));
  }
  CHECK(orders.size() > 10);
}

TEST_CASE("bucketing with bucket size at least n is the plain mean") {
  const std::vector<std::vector<float>> v = {{1.0f}, {2.0f}, {6.0f}};
  Rng rng(1);
  const std::vector<Eigen::VectorXf> buckets = BucketMeans(Spans(v), 8, rng);
  REQUIRE(buckets.size() == 1);
  CHECK(buckets[0][0] == 3.0f);
}

TEST_CASE("bucketing rejects no vectors, bucket size 0 and mixed sizes naming them") {
  Rng rng(1);
  const std::vector<std::vector<float>> none;
  CHECK_THROWS_WITH_AS(BucketMeans(Spans(none), 2, rng), doctest::Contains("no vectors"),
                       ConfigError);
  const std::vector<std::vector<float>> v = {{1.0f, 2.0f}, {3.0f}};
  CHECK_THROWS_WITH_AS(BucketMeans(Spans(v), 0, rng), doctest::Contains("bucket_size"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(BucketMeans(Spans(v), 2, rng), doctest::Contains("vectors[1]"), ConfigError);
}

}  // namespace edgefl::algorithms
