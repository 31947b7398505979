// DP-FedAvg's server side (algorithms/dp_fedavg.h) through the FedAvg
// strategy and the registry: clipping bounds one client's influence, the
// noise has stddev z·C/m on the mean, the fixed denominator, ε per round
// from the accountant, the stop before target_epsilon, and resume.
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "privacy/rdp_accountant.h"

namespace edgefl::algorithms {
namespace {

train::FitResult DpFedavgResult(const std::string& id, Eigen::VectorXf parameters) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = std::move(parameters);
  r.train.num_samples = 10;
  return r;
}

FedAvgOptions DpFedavgDpOptions(double z, double clip, int64_t m, int64_t n) {
  FedAvgOptions options;
  DpFedAvgOptions dp;
  dp.noise_multiplier = z;
  dp.clip_norm = clip;
  dp.clients_per_round = m;
  dp.population = n;
  dp.seeded_noise = true;
  options.dp = dp;
  options.seed = 5;
  return options;
}

StrategyConfig DpFedavgConfig(train::ParamMap params) {
  StrategyConfig c;
  c.name = "fedavg";
  c.params = std::move(params);
  c.rounds = 10;
  c.clients = 100;
  c.clients_per_round = 10;
  return c;
}

}  // namespace

TEST_CASE("dp: without noise one client's influence is its update clipped to C over m") {
  FedAvg strategy(DpFedavgDpOptions(0.0, 0.5, 4, 8));
  const Eigen::VectorXf w = Eigen::VectorXf::Constant(3, 1.0f);
  Eigen::VectorXf huge = w;
  huge[0] += 1000.0f;
  // Two reported of m = 4: the fixed denominator divides by 4, not 2.
  std::vector<train::FitResult> results = {DpFedavgResult("a", w), DpFedavgResult("b", huge)};
  const AggregateOutcome out = strategy.AggregateFit(1, w, results, {});
  REQUIRE(out.parameters);
  CHECK((*out.parameters - w).norm() == doctest::Approx(0.5 / 4));
  CHECK((*out.parameters)[0] == doctest::Approx(1.0 + 0.5 / 4));
  CHECK(out.metrics.at("dp_clip") == 0.5);
  CHECK(out.metrics.at("dp_unclipped") == 1.0);
  CHECK(std::isinf(out.metrics.at("epsilon")));  // z = 0: no guarantee
}

TEST_CASE("dp: the noise on the mean has stddev z times C over m") {
  const int64_t m = 5;
  FedAvg strategy(DpFedavgDpOptions(1.5, 2.0, m, 50));
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(40000);
  std::vector<train::FitResult> results;
  for (const char* id : {"c0", "c1", "c2", "c3", "c4"})
    results.push_back(DpFedavgResult(id, w));
  const AggregateOutcome out = strategy.AggregateFit(1, w, results, {});
  const Eigen::VectorXf noise = *out.parameters - w;
  const double mean = noise.mean();
  const double stddev = std::sqrt((noise.array() - mean).square().mean());
  CHECK(std::abs(mean) < 0.02);
  CHECK(stddev == doctest::Approx(1.5 * 2.0 / m).epsilon(0.02));
  CHECK(out.metrics.at("dp_noise_std") == doctest::Approx(1.5 * 2.0 / m));
}

TEST_CASE("dp: a calibrated multiplier spends the target exactly over the run's rounds") {
  // Through the registry, as a config sets it: 10 rounds, q = 10/100, δ = 1/100.
  std::unique_ptr<Strategy> strategy = MakeStrategy(
      DpFedavgConfig({{"dp", true}, {"dp_target_epsilon", 2.0}, {"dp_calibrate_noise", true}}));
  const double z = privacy::NoiseMultiplierFor(0.1, 10, 2.0, 0.01);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(4);
  double epsilon = 0.0;
  for (int round = 1; round <= 10; ++round) {
    REQUIRE_FALSE(strategy->BudgetSpentAfter(round - 1).has_value());
    std::vector<train::FitResult> results = {DpFedavgResult("a", w + Eigen::VectorXf::Ones(4))};
    const AggregateOutcome out = strategy->AggregateFit(round, w, results, {});
    CHECK(out.metrics.at("dp_noise_multiplier") == z);
    epsilon = out.metrics.at("epsilon");
    w = *out.parameters;
  }
  CHECK(epsilon <= 2.0);
  CHECK(epsilon > 2.0 * (1 - 1e-4));
  // The budget ends the run after its rounds.
  CHECK(strategy->BudgetSpentAfter(10).has_value());
  // Calibration needs a target.
  CHECK_THROWS_WITH_AS(MakeStrategy(DpFedavgConfig({{"dp", true}, {"dp_calibrate_noise", true}})),
                       doctest::Contains("dp_calibrate_noise = true needs dp_target_epsilon"),
                       ConfigError);
}

TEST_CASE("dp: epsilon per round is the accountant's and the run stops before the target") {
  FedAvgOptions options = DpFedavgDpOptions(1.0, 1.0, 10, 100);
  privacy::RdpAccountant reference(0.1, 1.0);
  const double delta = 1.0 / 100;
  // A target between the ε of rounds 3 and 4.
  const double target =
      0.5 * (reference.SpentAfter(3, delta).epsilon + reference.SpentAfter(4, delta).epsilon);
  options.dp->target_epsilon = target;
  FedAvg strategy(options);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(4);
  for (int round = 1; round <= 3; ++round) {
    CHECK_FALSE(strategy.BudgetSpentAfter(round - 1).has_value());
    std::vector<train::FitResult> results = {DpFedavgResult("a", w + Eigen::VectorXf::Ones(4))};
    const AggregateOutcome out = strategy.AggregateFit(round, w, results, {});
    CHECK(out.metrics.at("epsilon") == reference.SpentAfter(round, delta).epsilon);
    w = *out.parameters;
  }
  const std::optional<std::string> spent = strategy.BudgetSpentAfter(3);
  REQUIRE(spent.has_value());
  CHECK(spent->find("privacy budget: another round would reach") == 0);
  CHECK(spent->find("in 3 rounds") != std::string::npos);

  // A target that one round already exceeds is refused up front.
  options.dp->target_epsilon = reference.SpentAfter(1, delta).epsilon / 2;
  CHECK_THROWS_WITH_AS(FedAvg{options}, doctest::Contains("one round already spends"), ConfigError);
}

TEST_CASE("dp: a resumed strategy continues the same epsilon clip norm and noise") {
  FedAvgOptions options = DpFedavgDpOptions(1.2, 1.0, 3, 30);
  options.dp->adaptive_clip = true;
  options.dp->adaptive.count_stddev = 3.0;  // m/20 would be under z/2 for m = 3
  options.server.kind = ServerOptimizerKind::kMomentum;
  FedAvg original(options);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(6);
  auto cohort = [](const Eigen::VectorXf& base, float s) {
    return std::vector<train::FitResult>{
        DpFedavgResult("a", base + Eigen::VectorXf::Constant(6, s)),
        DpFedavgResult("b", base - Eigen::VectorXf::Constant(6, s)),
        DpFedavgResult("c", base + Eigen::VectorXf::Constant(6, 3 * s))};
  };
  for (int round = 1; round <= 4; ++round)
    w = *original.AggregateFit(round, w, cohort(w, 0.1f * round), {}).parameters;
  const Eigen::VectorXf saved = original.SaveState();
  FedAvg resumed(options);
  resumed.RestoreState(saved);
  const AggregateOutcome a = original.AggregateFit(5, w, cohort(w, 0.7f), {});
  const AggregateOutcome b = resumed.AggregateFit(5, w, cohort(w, 0.7f), {});
  CHECK(*a.parameters == *b.parameters);  // bit for bit
  CHECK(a.metrics.at("epsilon") == b.metrics.at("epsilon"));
  CHECK(a.metrics.at("dp_clip") == b.metrics.at("dp_clip"));
  CHECK(a.metrics.at("dp_clip") != 1.0);  // the adaptive clip moved
  // A fresh strategy restarts ε: the resumed one did not.
  FedAvg fresh(options);
  CHECK(fresh.AggregateFit(5, w, cohort(w, 0.7f), {}).metrics.at("epsilon") <
        b.metrics.at("epsilon"));
}

TEST_CASE("dp: secure noise differs between runs with one seed and seeded noise repeats") {
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(8);
  auto noise_of = [&](bool seeded) {
    FedAvgOptions options = DpFedavgDpOptions(1.0, 1.0, 2, 4);
    options.dp->seeded_noise = seeded;
    FedAvg strategy(options);
    std::vector<train::FitResult> results = {DpFedavgResult("a", w)};
    return *strategy.AggregateFit(1, w, results, {}).parameters;
  };
  CHECK(noise_of(true) == noise_of(true));
  CHECK(noise_of(false) != noise_of(false));
}

TEST_CASE("dp: registry keys and the combinations refused by name") {
  std::unique_ptr<Strategy> s =
      MakeStrategy(DpFedavgConfig({{"dp", true}, {"dp_noise", std::string("seeded")}}));
  CHECK(s->name() == "fedavg");
  CHECK_THROWS_WITH_AS(
      MakeStrategy(DpFedavgConfig({{"dp", true}, {"aggregator", std::string("median")}})),
      doctest::Contains("cannot be combined with aggregator = median"), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(DpFedavgConfig({{"dp", true}, {"dp_noise", std::string("fast")}})),
      doctest::Contains("dp_noise must be \"secure\" or \"seeded\""), ConfigError);
  // A DP key without dp = true is not silently ignored.
  CHECK_THROWS_WITH_AS(MakeStrategy(DpFedavgConfig({{"dp_clip", 0.5}})),
                       doctest::Contains("dp_clip"), ConfigError);
  StrategyConfig unknown_population = DpFedavgConfig({{"dp", true}});
  unknown_population.clients = 0;
  CHECK_THROWS_WITH_AS(MakeStrategy(unknown_population), doctest::Contains("population"),
                       ConfigError);
}

}  // namespace edgefl::algorithms
