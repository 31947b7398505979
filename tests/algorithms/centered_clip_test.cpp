#include "algorithms/centered_clip.h"

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

double Distance(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return (a.cast<double>() - b.cast<double>()).norm();
}

}  // namespace

TEST_CASE("centered clipping one iteration on a hand example") {
  // From v = (1, 1): x1 − v = (3, 4), norm 5, clipped to τ = 2.5 → (1.5, 2);
  // x2 − v = (0, 1) kept; x3 − v = 0. v + (1.5, 3)/3 = (1.5, 2).
  const std::vector<std::vector<float>> x = {{4.0f, 5.0f}, {1.0f, 2.0f}, {1.0f, 1.0f}};
  const std::vector<float> start = {1.0f, 1.0f};
  const CenteredClipOutcome out =
      CenteredClip(Spans(x), start, CenteredClipOptions{.tau = 2.5, .iterations = 1});
  CHECK(out.center[0] == 1.5f);
  CHECK(out.center[1] == 2.0f);
  CHECK(out.num_clipped == 1);
  // The plain mean would be (2, 8/3): the far input is held back.
}

TEST_CASE("centered clipping with tau infinite is the mean from any start") {
  Rng rng(7);
  std::vector<std::vector<float>> x(6, std::vector<float>(100));
  for (auto& v : x) {
    for (float& e : v)
      e = static_cast<float>(rng.Normal(0.0, 50.0));
  }
  std::vector<float> start(100);
  for (float& e : start)
    e = static_cast<float>(rng.Normal(3.0, 100.0));
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(100);
  for (const auto& v : x) {
    for (size_t i = 0; i < v.size(); ++i)
      mean[static_cast<Eigen::Index>(i)] += v[i] / 6.0;
  }
  for (int iterations : {1, 4}) {
    CAPTURE(iterations);
    const CenteredClipOutcome out =
        CenteredClip(Spans(x), start,
                     CenteredClipOptions{.tau = std::numeric_limits<double>::infinity(),
                                         .iterations = iterations});
    CHECK(out.num_clipped == 0);
    CHECK((out.center.cast<double>() - mean).cwiseAbs().maxCoeff() < 1e-4);
  }
}

TEST_CASE("centered clipping bounds an outlier's influence by tau over n per iteration") {
  Rng rng(3);
  const size_t n = 10;
  std::vector<std::vector<float>> honest(n, std::vector<float>(40));
  for (auto& v : honest) {
    for (float& e : v)
      e = static_cast<float>(rng.Normal(1.0, 0.1));
  }
  const std::vector<float> start(40, 0.0f);
  const double tau = 0.5;
  // The outlier replaced by the start contributes nothing: the difference is
  // exactly its clipped term, of norm τ/n.
  std::vector<std::vector<float>> attacked = honest;
  attacked.back().assign(40, 1e6f);
  std::vector<std::vector<float>> neutral = honest;
  neutral.back() = start;
  const CenteredClipOptions one{.tau = tau, .iterations = 1};
  const CenteredClipOutcome a = CenteredClip(Spans(attacked), start, one);
  const CenteredClipOutcome b = CenteredClip(Spans(neutral), start, one);
  CHECK(Distance(a.center, b.center) == doctest::Approx(tau / n).epsilon(1e-5));
  CHECK(a.num_clipped == n);  // ‖x − 0‖ ≈ 6.3 > τ for every input
  // However far the outlier, the same bound: at 1e3 the result is the same.
  attacked.back().assign(40, 1e3f);
  CHECK(Distance(CenteredClip(Spans(attacked), start, one).center, a.center) < 1e-6);
}

TEST_CASE("centered clipping within tau of every input is the mean in one step") {
  const std::vector<std::vector<float>> x = {{1.0f, 0.0f}, {0.0f, 1.0f}, {2.0f, 2.0f}};
  const std::vector<float> start = {1.0f, 1.0f};
  const CenteredClipOutcome out =
      CenteredClip(Spans(x), start, CenteredClipOptions{.tau = 1.5, .iterations = 1});
  CHECK(out.num_clipped == 0);
  CHECK(out.center[0] == 1.0f);
  CHECK(out.center[1] == 1.0f);
}

TEST_CASE("centered clipping rejects empty input bad options mixed sizes and NaN naming them") {
  const std::vector<float> start = {0.0f, 0.0f};
  const std::vector<std::vector<float>> none;
  CHECK_THROWS_WITH_AS(CenteredClip(Spans(none), start, {}), doctest::Contains("no vectors"),
                       ConfigError);
  const std::vector<std::vector<float>> x = {{1.0f, 2.0f}, {3.0f, 4.0f}};
  CHECK_THROWS_WITH_AS(CenteredClip(Spans(x), start, {.tau = 0.0, .iterations = 1}),
                       doctest::Contains("tau"), ConfigError);
  CHECK_THROWS_WITH_AS(
      CenteredClip(Spans(x), start,
                   {.tau = std::numeric_limits<double>::quiet_NaN(), .iterations = 1}),
      doctest::Contains("tau"), ConfigError);
  CHECK_THROWS_WITH_AS(CenteredClip(Spans(x), start, {.tau = 1.0, .iterations = 0}),
                       doctest::Contains("iterations"), ConfigError);
  const std::vector<std::vector<float>> mixed = {{1.0f, 2.0f}, {3.0f}};
  CHECK_THROWS_WITH_AS(CenteredClip(Spans(mixed), start, {}), doctest::Contains("vectors[1]"),
                       ConfigError);
  const std::vector<std::vector<float>> nan = {{1.0f, 2.0f},
                                               {std::numeric_limits<float>::quiet_NaN(), 4.0f}};
  CHECK_THROWS_WITH_AS(CenteredClip(Spans(nan), start, {}), doctest::Contains("vectors[1]"),
                       ConfigError);
}

}  // namespace edgefl::algorithms
