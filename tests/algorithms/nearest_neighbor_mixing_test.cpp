// Nearest-neighbour mixing (algorithms/nearest_neighbor_mixing.h): the
// mixtures on the authors' library example, f = 0, a far minority, the
// argument checks, and the pre-aggregation inside FedAvg and the registry.
#include "algorithms/nearest_neighbor_mixing.h"

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
namespace {

using testing::FedAvgConfig;
using testing::Spans;

Eigen::VectorXf Vec(std::initializer_list<float> values) {
  Eigen::VectorXf v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (float x : values)
    v[i++] = x;
  return v;
}

}  // namespace

TEST_CASE("nearest-neighbour mixing on three vectors with f = 1") {
  // n − f = 2 nearest, self included. x2 is as far from x1 as from x3 (27):
  // the tie goes to the lower index, as the authors' byzfl example shows.
  const std::vector<std::vector<float>> x = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  const std::vector<Eigen::VectorXf> y = NearestNeighborMixing(Spans(x), 1);
  REQUIRE(y.size() == 3);
  CHECK(y[0] == Vec({2.5f, 3.5f, 4.5f}));
  CHECK(y[1] == Vec({2.5f, 3.5f, 4.5f}));
  CHECK(y[2] == Vec({5.5f, 6.5f, 7.5f}));
}

TEST_CASE("nearest-neighbour mixing with f = 0 gives every input the mean") {
  const std::vector<std::vector<float>> x = {{0, 4}, {2, 0}, {10, 2}, {4, 2}};
  for (const Eigen::VectorXf& y : NearestNeighborMixing(Spans(x), 0))
    CHECK(y == Vec({4.0f, 2.0f}));
}

TEST_CASE(
    "nearest-neighbour mixing gives every honest input the honest mean when attackers are far") {
  // 12 honest inputs near a point, 3 sign-flipped ×4; f = 3, n − f = 12.
  Rng rng(3);
  const size_t dim = 32;
  std::vector<std::vector<float>> x = testing::NoisyCopiesOfOnePoint(rng, 15, dim, 0.3);
  for (size_t k = 12; k < 15; ++k) {
    for (float& e : x[k])
      e *= -4.0f;
  }
  const Eigen::VectorXd honest =
      testing::MeanOf(x, std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const std::vector<Eigen::VectorXf> y = NearestNeighborMixing(Spans(x), 3);
  for (int k = 0; k < 12; ++k) {
    CAPTURE(k);
    CHECK((y[k].cast<double>() - honest).norm() < 1e-5);
  }
  // An attacker's mixture holds itself and 11 others: its pull is diluted.
  for (int k = 12; k < 15; ++k) {
    CAPTURE(k);
    const double own =
        (Eigen::Map<const Eigen::VectorXf>(x[k].data(), dim).cast<double>() - honest).norm();
    CHECK((y[k].cast<double>() - honest).norm() < own / 3.0);
  }
}

TEST_CASE("nearest-neighbour mixing rejects 2f >= n mixed sizes and no input naming them") {
  const std::vector<std::vector<float>> four = {{0}, {1}, {2}, {3}};
  CHECK_THROWS_WITH_AS(NearestNeighborMixing(Spans(four), 2), doctest::Contains("n > 2f"),
                       ConfigError);
  const std::vector<std::vector<float>> mixed = {{0}, {1}, {2, 3}};
  CHECK_THROWS_WITH_AS(NearestNeighborMixing(Spans(mixed), 1), doctest::Contains("vectors[2]"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(NearestNeighborMixing({}, 0), doctest::Contains("no vectors"), ConfigError);
}

TEST_CASE("nearest-neighbour mixing before the median in FedAvg and a round with too few results") {
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kMedian;
  options.nnm_byzantine = 1;
  FedAvg strategy(options);
  // Scalars 0, 1, 2, 30 with f = 1: the mixtures of the 3 nearest are
  // 1, 1, 1 and (1 + 2 + 30)/3 = 11; their median is 1 (the plain median 1.5).
  std::vector<train::FitResult> results =
      testing::ScalarResults({0.0f, 1.0f, 2.0f, 30.0f}, {10, 10, 10, 10});
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(1);
  const AggregateOutcome out = strategy.AggregateFit(1, w, results, {});
  REQUIRE(out.parameters.has_value());
  CHECK((*out.parameters)[0] == 1.0f);
  CHECK(out.rejected.empty());

  results.resize(2);  // n = 2 <= 2f: no honest majority to mix
  const AggregateOutcome few = strategy.AggregateFit(2, w, results, {});
  CHECK_FALSE(few.parameters.has_value());
  CHECK(few.metrics.at("nnm_too_few") == 1.0);
}

TEST_CASE(
    "registry reads nnm_byzantine for the robust rules and refuses it where it cannot apply") {
  const std::unique_ptr<Strategy> cc = MakeStrategy(
      FedAvgConfig({{"aggregator", std::string("centered_clip")}, {"nnm_byzantine", int64_t{4}}}));
  const auto* fedavg = dynamic_cast<const FedAvg*>(cc.get());
  REQUIRE(fedavg != nullptr);
  CHECK(fedavg->options().nnm_byzantine == 4);
  // The plain mean does not read the key: unknown there.
  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"nnm_byzantine", int64_t{2}}})),
                       doctest::Contains("nnm_byzantine"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"aggregator", std::string("median")},
                                                  {"nnm_byzantine", int64_t{2}},
                                                  {"bucket_size", int64_t{2}}})),
                       doctest::Contains("pick one"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(FedAvgConfig({{"aggregator", std::string("median")},
                                                  {"nnm_byzantine", int64_t{-1}}})),
                       doctest::Contains("nnm_byzantine"), ConfigError);
  FedAvgOptions direct;
  direct.nnm_byzantine = 2;
  CHECK_THROWS_WITH_AS(FedAvg{direct}, doctest::Contains("not mean"), ConfigError);
}

}  // namespace edgefl::algorithms
