// Multi-Krum (algorithms/multi_krum.h): the scores and the selection on a
// hand example, a far minority left out whole, the argument checks, and the
// rule inside FedAvg (the log's rejected updates, a round with too few
// inputs) and the registry's keys.
#include "algorithms/multi_krum.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/parameter_spans_test_util.h"
#include "tests/algorithms/robust_rule_test_util.h"

namespace edgefl::algorithms {

using testing::FedAvgConfig;
using testing::OptionsOf;
using testing::ScalarResults;
using testing::Spans;

TEST_CASE("multi_krum scores and selects by hand on five scalars") {
  // f = 1, n = 5: each input's n − f − 2 = 2 nearest others.
  // 0: {1, 4, 9, 400} → 5;  1: {1, 1, 4, 361} → 2;  2: {4, 1, 1, 324} → 2;
  // 3: {9, 4, 1, 289} → 5;  20: {400, 361, 324, 289} → 613.
  const std::vector<std::vector<float>> x = {{0.0f}, {1.0f}, {2.0f}, {3.0f}, {20.0f}};
  const MultiKrumOutcome krum = MultiKrum(Spans(x), 1, 1);
  CHECK(krum.scores == std::vector<double>{5.0, 2.0, 2.0, 5.0, 613.0});
  CHECK(krum.selected == std::vector<size_t>{1});  // the tie goes to the lower index
  CHECK(krum.mean[0] == 1.0f);

  const MultiKrumOutcome multi = MultiKrum(Spans(x), 1, 4);
  CHECK(multi.selected == std::vector<size_t>{1, 2, 0, 3});
  CHECK(multi.order == std::vector<size_t>{1, 2, 0, 3, 4});
  CHECK(multi.mean[0] == 1.5f);  // unweighted; the plain mean would be 5.2
}

TEST_CASE("multi_krum leaves a scaled or sign-flipped minority out whole") {
  // 12 honest updates around a common direction, 3 attackers sending −4×
  // and ×100 of honest-looking updates; f = 3, m = n − f = 12.
  Rng rng(11);
  const size_t dim = 64;
  std::vector<std::vector<float>> x = testing::NoisyCopiesOfOnePoint(rng, 15, dim, 0.5);
  for (float& e : x[4])
    e *= -4.0f;
  for (float& e : x[9])
    e *= -4.0f;
  for (float& e : x[13])
    e *= 100.0f;
  const MultiKrumOutcome krum = MultiKrum(Spans(x), 3, 12);
  const std::set<size_t> chosen(krum.selected.begin(), krum.selected.end());
  CHECK(chosen.size() == 12);
  CHECK(chosen.count(4) == 0);
  CHECK(chosen.count(9) == 0);
  CHECK(chosen.count(13) == 0);
  const Eigen::VectorXd honest = testing::MeanOf(x, chosen);
  CHECK((krum.mean.cast<double>() - honest).norm() < 1e-5);
}

TEST_CASE("multi_krum rejects too few inputs a bad keep mixed sizes and no input naming them") {
  const std::vector<std::vector<float>> four = {{0.0f}, {1.0f}, {2.0f}, {3.0f}};
  CHECK_THROWS_WITH_AS(MultiKrum(Spans(four), 1, 1), doctest::Contains("n >= 2f + 3"), ConfigError);
  const std::vector<std::vector<float>> five = {{0.0f}, {1.0f}, {2.0f}, {3.0f}, {4.0f}};
  CHECK_THROWS_WITH_AS(MultiKrum(Spans(five), 1, 0), doctest::Contains("keep"), ConfigError);
  CHECK_THROWS_WITH_AS(MultiKrum(Spans(five), 1, 6), doctest::Contains("keep"), ConfigError);
  const std::vector<std::vector<float>> mixed = {{0.0f}, {1.0f}, {2.0f}, {3.0f}, {4.0f, 5.0f}};
  CHECK_THROWS_WITH_AS(MultiKrum(Spans(mixed), 1, 1), doctest::Contains("vectors[4]"), ConfigError);
  CHECK_THROWS_WITH_AS(MultiKrum({}, 1, 1), doctest::Contains("no vectors"), ConfigError);
}

TEST_CASE("multi_krum in FedAvg logs the updates it leaves out and keeps the model when too few") {
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kMultiKrum;
  options.krum_byzantine = 1;
  FedAvg strategy(options);
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  std::vector<train::FitResult> results =
      ScalarResults({0.0f, 1.0f, 2.0f, 3.0f, 20.0f}, {10, 20, 30, 40, 50});
  const AggregateOutcome out = strategy.AggregateFit(1, w, results, {});
  REQUIRE(out.parameters.has_value());
  CHECK((*out.parameters)[0] == 1.5f);  // m = n − f = 4, unweighted
  CHECK(out.metrics.at("num_selected") == 4.0);
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].client == "c4");
  CHECK(out.rejected[0].kind == train::FitFailure::Kind::kRejected);
  CHECK(out.rejected[0].reason.find("multi_krum") != std::string::npos);
  CHECK(out.rejected[0].reason.find("ranks 5 of 5") != std::string::npos);

  // Four inputs cannot tolerate f = 1: the round keeps the model.
  results.pop_back();
  const AggregateOutcome few = strategy.AggregateFit(2, w, results, {});
  CHECK_FALSE(few.parameters.has_value());
  CHECK(few.metrics.at("krum_too_few") == 1.0);
  CHECK(few.rejected.empty());
}

TEST_CASE("multi_krum counts the engine's rejections against f and not the dropouts") {
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kMultiKrum;
  options.krum_byzantine = 1;
  FedAvg strategy(options);
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  const std::vector<train::FitResult> results =
      ScalarResults({0.0f, 1.0f, 2.0f, 3.0f, 20.0f}, {10, 10, 10, 10, 10});
  // A dropout says nothing about who is Byzantine: f stays 1, 20 is left out.
  const std::vector<train::FitFailure> dropped = {
      {"d0", train::FitFailure::Kind::kDropped, "deadline passed"}};
  const AggregateOutcome kept = strategy.AggregateFit(1, w, results, dropped);
  CHECK(kept.metrics.at("krum_f") == 1.0);
  CHECK((*kept.parameters)[0] == 1.5f);
  CHECK(kept.rejected.size() == 1);
  // The engine rejected one NaN update: the one Byzantine client is caught,
  // f = 0 and all five are averaged.
  const std::vector<train::FitFailure> rejected = {
      {"x0", train::FitFailure::Kind::kRejected, "update from x0 contains NaN at index 0"}};
  const AggregateOutcome all = strategy.AggregateFit(2, w, results, rejected);
  CHECK(all.metrics.at("krum_f") == 0.0);
  CHECK((*all.parameters)[0] == doctest::Approx(26.0 / 5.0));
  CHECK(all.rejected.empty());
}

TEST_CASE("registry reads the multi_krum keys with their ranges") {
  const FedAvgOptions krum =
      OptionsOf(MakeStrategy(FedAvgConfig({{"aggregator", std::string("multi_krum")},
                                           {"krum_byzantine", int64_t{4}},
                                           {"krum_keep", int64_t{10}},
                                           {"bucket_size", int64_t{2}}})));
  CHECK(krum.aggregator == AggregatorKind::kMultiKrum);
  CHECK(krum.krum_byzantine == 4);
  CHECK(krum.krum_keep == 10);
  CHECK(krum.bucket_size == 2);
  const FedAvgOptions defaults =
      OptionsOf(MakeStrategy(FedAvgConfig({{"aggregator", std::string("multi_krum")}})));
  CHECK(defaults.krum_byzantine == 1);
  CHECK(defaults.krum_keep == 0);

  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"aggregator", std::string("multi_krum")},
                                                  {"krum_byzantine", int64_t{0}}})),
                       doctest::Contains("krum_byzantine"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"aggregator", std::string("multi_krum")},
                                                  {"krum_keep", int64_t{-1}}})),
                       doctest::Contains("krum_keep"), ConfigError);
  // The keys belong to multi_krum only.
  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"aggregator", std::string("median")},
                                                  {"krum_byzantine", int64_t{2}}})),
                       doctest::Contains("krum_byzantine"), ConfigError);
  FedAvgOptions direct;
  direct.aggregator = AggregatorKind::kMultiKrum;
  direct.krum_byzantine = 0;
  CHECK_THROWS_WITH_AS(FedAvg{direct}, doctest::Contains("krum_byzantine"), ConfigError);
}

}  // namespace edgefl::algorithms
