// Bucketing and centered clipping through the FedAvg strategy and the
// registry: the keys, their checks, the per-round permutation and the
// centered-clipping center carried across rounds.
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/centered_clip.h"
#include "algorithms/fedavg.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/robust_rule_test_util.h"

namespace edgefl::algorithms {
namespace {

using testing::OptionsOf;

train::FitResult RobustAggregationResult(const std::string& id, Eigen::VectorXf parameters,
                                         size_t samples) {
  return testing::ResultOf(id, std::move(parameters), samples);
}

// Scalars with 10 + k samples, from "sim-0".
std::vector<train::FitResult> Scalars(const std::vector<float>& values) {
  std::vector<size_t> samples(values.size());
  for (size_t k = 0; k < values.size(); ++k)
    samples[k] = 10 + k;
  return testing::ScalarResults(values, samples, "sim-");
}

}  // namespace

TEST_CASE("bucketed median of 4 clients in buckets of 2 is their mean for every permutation") {
  // Two bucket means (a+b)/2 and (c+d)/2 of {1, 2, 4, 8}: their median is
  // their mean 3.75 whatever the permutation; the plain median is 3.
  const std::vector<train::FitResult> results = Scalars({1.0f, 2.0f, 4.0f, 8.0f});
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kMedian;
  FedAvg plain(options);
  CHECK((*plain.AggregateFit(0, w, results, {}).parameters)[0] == 3.0f);
  options.bucket_size = 2;
  for (const uint64_t seed : {uint64_t{1}, uint64_t{2}, uint64_t{3}}) {
    options.seed = seed;
    FedAvg bucketed(options);
    for (int64_t round = 0; round < 3; ++round) {
      const AggregateOutcome out = bucketed.AggregateFit(round, w, results, {});
      CHECK((*out.parameters)[0] == 3.75f);
      CHECK(out.metrics.at("num_buckets") == 2.0);
    }
  }
}

TEST_CASE("bucketing permutes per round and repeats with the seed") {
  // 6 clients in buckets of 2: the median of 3 bucket means depends on the
  // pairing, which the run seed and the round fix.
  const std::vector<train::FitResult> results = Scalars({1, 2, 4, 8, 16, 32});
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kMedian;
  options.bucket_size = 2;
  options.seed = 9;
  FedAvg a(options);
  FedAvg b(options);
  std::set<float> values;
  for (int64_t round = 0; round < 12; ++round) {
    const float x = (*a.AggregateFit(round, w, results, {}).parameters)[0];
    CHECK(x == (*b.AggregateFit(round, w, results, {}).parameters)[0]);
    values.insert(x);
  }
  CHECK(values.size() > 1);
}

TEST_CASE("centered clipping in FedAvg clips the updates around the previous aggregate update") {
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kCenteredClip;
  options.centered_clip = {.tau = 1.0, .iterations = 1};
  FedAvg strategy(options);
  // Round 0 from w = 0, center 0: updates 0.5, 0.5, 10 → clip(10) = 1;
  // v = (0.5 + 0.5 + 1)/3 = 2/3.
  const Eigen::VectorXf w0 = Eigen::VectorXf::Zero(1);
  AggregateOutcome out = strategy.AggregateFit(0, w0, Scalars({0.5f, 0.5f, 10.0f}), {});
  CHECK((*out.parameters)[0] == doctest::Approx(2.0 / 3.0));
  CHECK(out.metrics.at("num_clipped") == 1.0);
  // Round 1 from w = 1: updates 0, 0, 3 are clipped around v = 2/3:
  // (−2/3, −2/3, min(1, 1/(7/3))·7/3 = 1) → v' = 2/3 + (−1/3)/3 = 5/9.
  const Eigen::VectorXf w1 = Eigen::VectorXf::Constant(1, 1.0f);
  out = strategy.AggregateFit(1, w1, Scalars({1.0f, 1.0f, 4.0f}), {});
  CHECK((*out.parameters)[0] == doctest::Approx(1.0 + 5.0 / 9.0));
  CHECK(out.metrics.at("num_clipped") == 1.0);
}

TEST_CASE(
    "centered clipping's center survives SaveState and RestoreState so a resumed run is exact") {
  for (const char* server : {"none", "momentum", "adam"}) {
    CAPTURE(server);
    FedAvgOptions options;
    options.aggregator = AggregatorKind::kCenteredClip;
    options.centered_clip = {.tau = 1.0, .iterations = 1};
    if (std::string(server) == "momentum") {
      options.server.kind = ServerOptimizerKind::kMomentum;
      options.server.momentum = 0.9;
    } else if (std::string(server) == "adam") {
      options.server.kind = ServerOptimizerKind::kAdam;
    }
    const Eigen::VectorXf w0 = Eigen::VectorXf::Zero(2);
    auto two = [](float a, float b) {
      Eigen::VectorXf v(2);
      v << a, b;
      return v;
    };
    std::vector<train::FitResult> first = {RobustAggregationResult("a", two(0.5f, 0.25f), 10),
                                           RobustAggregationResult("b", two(0.5f, -0.25f), 10),
                                           RobustAggregationResult("c", two(10.0f, 3.0f), 10)};
    FedAvg original(options);
    const Eigen::VectorXf w1 = *original.AggregateFit(1, w0, first, {}).parameters;
    const Eigen::VectorXf saved = original.SaveState();
    CHECK(saved.size() == original.SaveState().size());

    FedAvg resumed(options);
    resumed.RestoreState(saved);
    CHECK(resumed.SaveState() == saved);
    std::vector<train::FitResult> second = {
        RobustAggregationResult("a", w1 + two(0.0f, 0.5f), 10),
        RobustAggregationResult("b", w1 + two(-0.5f, 0.0f), 10),
        RobustAggregationResult("c", w1 + two(4.0f, -4.0f), 10)};
    const Eigen::VectorXf want = *original.AggregateFit(2, w1, second, {}).parameters;
    const Eigen::VectorXf got = *resumed.AggregateFit(2, w1, second, {}).parameters;
    CHECK(got == want);  // bit for bit

    // A fresh strategy (center 0) would aggregate differently: the test can fail.
    FedAvg fresh(options);
    if (std::string(server) == "none") {
      CHECK(fresh.AggregateFit(2, w1, second, {}).parameters->isApprox(want) == false);
    }
    // A state cut short is refused, at the latest by the first round.
    FedAvg bad(options);
    const Eigen::VectorXf cut = saved.head(saved.size() - 1);
    CHECK_THROWS_WITH_AS(
        {
          bad.RestoreState(cut);
          bad.AggregateFit(2, w1, second, {});
        },
        doctest::Contains("does not fit"), ConfigError);
  }
}

TEST_CASE("registry reads the bucketing and centered clipping keys with their ranges") {
  const FedAvgOptions cc =
      OptionsOf(MakeStrategy(testing::FedAvgConfig({{"aggregator", std::string("centered_clip")},
                                                    {"cc_tau", 2.5},
                                                    {"cc_iterations", int64_t{1}},
                                                    {"bucket_size", int64_t{2}}})));
  CHECK(cc.aggregator == AggregatorKind::kCenteredClip);
  CHECK(cc.centered_clip.tau == 2.5);
  CHECK(cc.centered_clip.iterations == 1);
  CHECK(cc.bucket_size == 2);
  const FedAvgOptions defaults = OptionsOf(
      MakeStrategy(testing::FedAvgConfig({{"aggregator", std::string("centered_clip")}})));
  CHECK(defaults.centered_clip.tau == 10.0);
  CHECK(defaults.centered_clip.iterations == 3);
  CHECK(defaults.bucket_size == 1);
  CHECK(OptionsOf(MakeStrategy(testing::FedAvgConfig(
                      {{"aggregator", std::string("trimmed_mean")}, {"bucket_size", int64_t{3}}})))
            .bucket_size == 3);

  CHECK_THROWS_WITH_AS(MakeStrategy(testing::FedAvgConfig(
                           {{"aggregator", std::string("centered_clip")}, {"cc_tau", 0.0}})),
                       doctest::Contains("cc_tau"), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(testing::FedAvgConfig(
          {{"aggregator", std::string("centered_clip")}, {"cc_iterations", int64_t{0}}})),
      doctest::Contains("cc_iterations"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(testing::FedAvgConfig(
                           {{"aggregator", std::string("median")}, {"bucket_size", int64_t{0}}})),
                       doctest::Contains("bucket_size"), ConfigError);
  // Bucketing the mean is the mean: the key is not accepted there.
  CHECK_THROWS_WITH_AS(MakeStrategy(testing::FedAvgConfig({{"bucket_size", int64_t{2}}})),
                       doctest::Contains("bucket_size"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(testing::FedAvgConfig({{"aggregator", std::string("krum")}})),
                       doctest::Contains("multi_krum"), ConfigError);
  FedAvgOptions direct;
  direct.bucket_size = 2;
  CHECK_THROWS_WITH_AS(FedAvg{direct}, doctest::Contains("bucket_size"), ConfigError);
}

}  // namespace edgefl::algorithms
