#include "algorithms/aggregate.h"

#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/parameter_spans_test_util.h"

namespace edgefl::algorithms {
namespace {

using testing::Spans;

std::vector<float> AggregateRandomVector(Rng& rng, size_t n, double scale = 1.0) {
  std::vector<float> v(n);
  for (float& x : v)
    x = static_cast<float>(rng.Normal(0.0, scale));
  return v;
}

TEST_CASE("weighted mean with n = 1 and 3 weights the clients 0.25 and 0.75") {
  const std::vector<std::vector<float>> v = {{4.0f, 0.0f, -8.0f}, {8.0f, 4.0f, 8.0f}};
  const Eigen::VectorXf mean = WeightedMean(Spans(v), std::vector<double>{1.0, 3.0});
  CHECK(mean[0] == 7.0f);
  CHECK(mean[1] == 3.0f);
  CHECK(mean[2] == 4.0f);
}

TEST_CASE("weighted mean of identical vectors is that vector bit for bit") {
  Rng rng(1);
  const std::vector<float> u = AggregateRandomVector(rng, 5000);
  const std::vector<std::vector<float>> v(7, u);
  const Eigen::VectorXf mean = WeightedMean(Spans(v), std::vector<double>{3, 1, 4, 1, 5, 9, 2});
  for (size_t i = 0; i < u.size(); ++i)
    REQUIRE(mean[static_cast<Eigen::Index>(i)] == u[i]);
}

TEST_CASE("weighted mean matches a direct double computation across block boundaries") {
  Rng rng(2);
  const size_t n = 3000;  // not a multiple of the block size
  std::vector<std::vector<float>> v;
  std::vector<double> w;
  for (int k = 0; k < 5; ++k) {
    v.push_back(AggregateRandomVector(rng, n));
    w.push_back(1.0 + k);
  }
  std::vector<float> out(n);
  WeightedMean(Spans(v), w, out);
  for (size_t i = 0; i < n; ++i) {
    double expected = 0.0;
    for (size_t k = 0; k < v.size(); ++k)
      expected += w[k] / 15.0 * v[k][i];
    REQUIRE(out[i] == doctest::Approx(expected).epsilon(1e-6));
  }
}

TEST_CASE("weighted mean rejects bad inputs naming them") {
  const std::vector<std::vector<float>> v = {{1.0f, 2.0f}, {3.0f}};
  CHECK_THROWS_WITH_AS(WeightedMean(Spans(v), std::vector<double>{1, 1}),
                       doctest::Contains("vectors[1] has 1 values"), ConfigError);
  const std::vector<std::vector<float>> ok = {{1.0f}, {3.0f}};
  CHECK_THROWS_WITH_AS(WeightedMean(Spans(ok), std::vector<double>{1, -1}),
                       doctest::Contains("weights[1]"), ConfigError);
  CHECK_THROWS_WITH_AS(WeightedMean(Spans(ok), std::vector<double>{0, 0}),
                       doctest::Contains("sum to 0"), ConfigError);
  CHECK_THROWS_AS(WeightedMean(std::span<const ParameterSpan>(), std::vector<double>{}),
                  ConfigError);
}

TEST_CASE("median and trimmed mean ignore a single huge outlier") {
  const std::vector<std::vector<float>> v = {
      {1.0f, 10.0f}, {2.0f, 20.0f}, {3.0f, 30.0f}, {4.0f, 40.0f}, {1e30f, -1e30f}};
  const Eigen::VectorXf median = CoordinateMedian(Spans(v));
  CHECK(median[0] == 3.0f);   // sorted: 1 2 3 4 1e30
  CHECK(median[1] == 20.0f);  // sorted: -1e30 10 20 30 40
  // β = 0.2 of 5 trims one value per side: mean of the middle three.
  const Eigen::VectorXf trimmed = TrimmedMean(Spans(v), 0.2);
  CHECK(trimmed[0] == doctest::Approx((2.0 + 3.0 + 4.0) / 3.0));
  CHECK(trimmed[1] == doctest::Approx((10.0 + 20.0 + 30.0) / 3.0));
}

TEST_CASE("median of an even count is the mean of the two middle values") {
  const std::vector<std::vector<float>> v = {{4.0f}, {1.0f}, {3.0f}, {100.0f}};
  CHECK(CoordinateMedian(Spans(v))[0] == 3.5f);
}

TEST_CASE("median and trimmed mean agree with a sort over many coordinates") {
  Rng rng(3);
  const size_t n = 700;  // spans several blocks
  std::vector<std::vector<float>> v;
  for (int k = 0; k < 9; ++k)
    v.push_back(AggregateRandomVector(rng, n));
  const Eigen::VectorXf median = CoordinateMedian(Spans(v));
  const Eigen::VectorXf trimmed = TrimmedMean(Spans(v), 0.25);  // cut 2 of 9 per side
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> column;
    for (const auto& x : v)
      column.push_back(x[i]);
    std::sort(column.begin(), column.end());
    REQUIRE(median[static_cast<Eigen::Index>(i)] == column[4]);
    double sum = 0.0;
    for (size_t k = 2; k < 7; ++k)
      sum += column[k];
    REQUIRE(trimmed[static_cast<Eigen::Index>(i)] == doctest::Approx(sum / 5.0));
  }
}

TEST_CASE("trimmed mean with beta 0 is the plain mean and rejects beta 0.5") {
  const std::vector<std::vector<float>> v = {{1.0f}, {2.0f}, {6.0f}};
  CHECK(TrimmedMean(Spans(v), 0.0)[0] == 3.0f);
  CHECK_THROWS_WITH_AS(TrimmedMean(Spans(v), 0.5), doctest::Contains("trim_fraction"), ConfigError);
}

TEST_CASE("norm clipping bounds every update norm") {
  Rng rng(4);
  const size_t n = 100;
  const std::vector<float> global = AggregateRandomVector(rng, n);
  std::vector<std::vector<float>> v;
  for (double scale : {0.1, 0.2, 0.3, 50.0}) {
    std::vector<float> x = global;
    const std::vector<float> d = AggregateRandomVector(rng, n, scale);
    for (size_t i = 0; i < n; ++i)
      x[i] += d[i];
    v.push_back(x);
  }
  const std::vector<double> w = {1, 1, 1, 1};
  SUBCASE("a fixed bound") {
    const NormClipOutcome out = NormClippedMean(global, Spans(v), w, {0.5, 1.0});
    CHECK(out.bound == 0.5);
    CHECK(out.num_clipped >= 1);
    double norm = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double d = out.mean[static_cast<Eigen::Index>(i)] - global[i];
      norm += d * d;
    }
    CHECK(std::sqrt(norm) <= 0.5 + 1e-5);
  }
  SUBCASE("the median norm: the outlier is scaled down to it") {
    const std::vector<double> norms = UpdateNorms(global, Spans(v));
    const NormClipOutcome out = NormClippedMean(global, Spans(v), w, {0.0, 1.0});
    CHECK(out.median_norm == doctest::Approx(0.5 * (norms[1] + norms[2])));
    CHECK(out.num_clipped == 2);
    // Equals the mean of the explicitly clipped models.
    for (size_t i = 0; i < n; ++i) {
      double expected = 0.0;
      for (size_t k = 0; k < v.size(); ++k) {
        const double c = std::min(1.0, out.bound / norms[k]);
        expected += 0.25 * (global[i] + c * (v[k][i] - global[i]));
      }
      REQUIRE(out.mean[static_cast<Eigen::Index>(i)] == doctest::Approx(expected).epsilon(1e-5));
    }
  }
  SUBCASE("a bound above every norm leaves the weighted mean") {
    const NormClipOutcome out = NormClippedMean(global, Spans(v), w, {1e9, 1.0});
    const Eigen::VectorXf mean = WeightedMean(Spans(v), w);
    CHECK(out.num_clipped == 0);
    CHECK((out.mean - mean).cwiseAbs().maxCoeff() <= 1e-5f);
  }
}

TEST_CASE("update check names the client and the first bad index") {
  std::vector<float> x(20, 1.0f);
  CHECK_FALSE(CheckUpdate("sim-3", x, 20).has_value());
  x[17] = std::numeric_limits<float>::quiet_NaN();
  x[19] = std::numeric_limits<float>::infinity();
  CHECK(CheckUpdate("sim-3", x, 20).value() == "update from sim-3 contains NaN at index 17");
  x[17] = 0.0f;
  CHECK(CheckUpdate("sim-3", x, 20).value() == "update from sim-3 contains +Inf at index 19");
  x[2] = -std::numeric_limits<float>::infinity();
  CHECK(CheckUpdate("sim-3", x, 20).value() == "update from sim-3 contains -Inf at index 2");
  CHECK(CheckUpdate("sim-9", x, 12).value() == "update from sim-9 has 20 parameters, expected 12");
}

}  // namespace
}  // namespace edgefl::algorithms
