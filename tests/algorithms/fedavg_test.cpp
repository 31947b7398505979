#include "algorithms/fedavg.h"

#include <cmath>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

Eigen::VectorXf RandomVector(Rng& rng, Eigen::Index n, float scale = 1.0f) {
  Eigen::VectorXf v(n);
  for (Eigen::Index i = 0; i < n; ++i)
    v[i] = scale * static_cast<float>(rng.Normal());
  return v;
}

train::FitResult Result(const std::string& id, Eigen::VectorXf parameters, size_t samples) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = std::move(parameters);
  r.train.num_samples = samples;
  return r;
}

std::vector<ClientInfo> Cohort(size_t n) {
  std::vector<ClientInfo> cohort(n);
  for (size_t i = 0; i < n; ++i)
    cohort[i].id = "sim-" + std::to_string(i);
  return cohort;
}

TEST_CASE("FedAvg of identical updates is that update") {
  Rng rng(1);
  const Eigen::VectorXf w = RandomVector(rng, 300);
  const Eigen::VectorXf u = RandomVector(rng, 300);
  FedAvg fedavg(FedAvgOptions{});
  const std::vector<train::FitResult> results = {Result("a", u, 10), Result("b", u, 7),
                                                 Result("c", u, 1)};
  const AggregateOutcome out = fedavg.AggregateFit(0, w, results, {});
  REQUIRE(out.parameters.has_value());
  CHECK((out.parameters->array() == u.array()).all());
  CHECK(out.rejected.empty());
  CHECK(out.metrics.at("num_results") == 3.0);
}

TEST_CASE("FedAvg weights clients by samples and keeps w when all clients return w") {
  Eigen::VectorXf w(2), a(2), b(2);
  w << 1.0f, 1.0f;
  a << 0.0f, 4.0f;
  b << 4.0f, 0.0f;
  FedAvg fedavg(FedAvgOptions{});
  const std::vector<train::FitResult> results = {Result("a", a, 1), Result("b", b, 3)};
  const AggregateOutcome out = fedavg.AggregateFit(0, w, results, {});
  CHECK((*out.parameters)[0] == 3.0f);
  CHECK((*out.parameters)[1] == 1.0f);
  const std::vector<train::FitResult> same = {Result("a", w, 5), Result("b", w, 2)};
  CHECK((fedavg.AggregateFit(1, w, same, {}).parameters->array() == w.array()).all());
}

TEST_CASE("FedAvg with no results keeps the model and rejects wrong sizes") {
  FedAvg fedavg(FedAvgOptions{});
  const Eigen::VectorXf w = Eigen::VectorXf::Ones(4);
  CHECK_FALSE(fedavg.AggregateFit(0, w, {}, {}).parameters.has_value());
  const std::vector<train::FitResult> results = {Result("sim-1", Eigen::VectorXf::Zero(3), 5),
                                                 Result("sim-2", Eigen::VectorXf::Zero(4), 5)};
  const AggregateOutcome out = fedavg.AggregateFit(0, w, results, {});
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].client == "sim-1");
  CHECK(out.rejected[0].kind == train::FitFailure::Kind::kRejected);
  CHECK(out.rejected[0].reason == "update from sim-1 has 3 parameters, expected 4");
  CHECK(out.parameters->isZero());
}

TEST_CASE("FedAvgM with beta 0 equals FedAvg bit for bit through the strategy") {
  Rng rng(2);
  FedAvgOptions m;
  m.server.kind = ServerOptimizerKind::kMomentum;
  m.server.momentum = 0.0;
  FedAvg fedavgm(m);
  FedAvg fedavg(FedAvgOptions{});
  Eigen::VectorXf a = RandomVector(rng, 200);
  Eigen::VectorXf b = a;
  for (int round = 0; round < 4; ++round) {
    std::vector<train::FitResult> results;
    for (int k = 0; k < 3; ++k) {
      results.push_back(Result(std::string("c").append(std::to_string(k)),
                               a + RandomVector(rng, 200, 0.1f), static_cast<size_t>(10 + k)));
    }
    a = *fedavgm.AggregateFit(round, a, results, {}).parameters;
    b = *fedavg.AggregateFit(round, b, results, {}).parameters;
    REQUIRE((a.array() == b.array()).all());
  }
}

TEST_CASE("robust aggregators ignore a poisoned client") {
  Rng rng(3);
  const Eigen::VectorXf w = Eigen::VectorXf::Zero(50);
  std::vector<train::FitResult> results;
  for (int k = 0; k < 4; ++k) {
    results.push_back(Result(std::string("honest-").append(std::to_string(k)),
                             Eigen::VectorXf::Constant(50, 1.0f + 0.01f * k), 10));
  }
  results.push_back(Result("attacker", Eigen::VectorXf::Constant(50, 1e6f), 1000));
  for (AggregatorKind kind :
       {AggregatorKind::kMedian, AggregatorKind::kTrimmedMean, AggregatorKind::kNormClip}) {
    FedAvgOptions options;
    options.aggregator = kind;
    options.trim_fraction = 0.2;
    FedAvg strategy(options);
    const AggregateOutcome out = strategy.AggregateFit(0, w, results, {});
    CAPTURE(AggregatorName(kind));
    CHECK(out.parameters->maxCoeff() < 1.1f);
    if (kind == AggregatorKind::kNormClip) CHECK(out.metrics.at("num_clipped") >= 1.0);
  }
}

TEST_CASE("ConfigureFit copies the recipe with the round lr and per-client seeds") {
  FedAvgOptions options;
  options.recipe.optimizer.learning_rate = 0.1f;
  options.recipe.epochs = 3;
  options.recipe.batch_size = 16;
  options.local.objective = "wafl";
  options.local.params["gamma"] = 0.05;
  options.lr_schedule.kind = LrScheduleKind::kStep;
  options.lr_schedule.decay = 0.5;
  options.lr_schedule.step_rounds = 2;
  options.seed = 42;
  FedAvg fedavg(options);
  const std::vector<ClientInfo> cohort = Cohort(4);
  const std::vector<train::FitInstructions> round0 = fedavg.ConfigureFit(0, cohort);
  const std::vector<train::FitInstructions> round2 = fedavg.ConfigureFit(2, cohort);
  REQUIRE(round0.size() == 4);
  std::set<uint64_t> seeds;
  for (size_t i = 0; i < 4; ++i) {
    CHECK(round0[i].recipe.optimizer.learning_rate == doctest::Approx(0.1));
    CHECK(round2[i].recipe.optimizer.learning_rate == doctest::Approx(0.05));
    CHECK(round0[i].recipe.epochs == 3);
    CHECK(round0[i].recipe.batch_size == 16);
    CHECK(round0[i].local.objective == "wafl");
    CHECK(round0[i].local.params.at("gamma") == 0.05);
    CHECK(round2[i].model_version == 2);
    CHECK(round0[i].recipe.seed == ClientSeed(42, 0, cohort[i].id));
    seeds.insert(round0[i].recipe.seed);
    seeds.insert(round2[i].recipe.seed);
  }
  CHECK(seeds.size() == 8);
  // A client's seed does not depend on its position in the cohort.
  const std::vector<ClientInfo> reversed(cohort.rbegin(), cohort.rend());
  CHECK(fedavg.ConfigureFit(0, reversed)[0].recipe.seed == round0[3].recipe.seed);
  CHECK(ClientSeed(43, 0, "sim-0") != ClientSeed(42, 0, "sim-0"));
}

TEST_CASE("QSR sets the local steps per round as the lr decays") {
  FedAvgOptions options;
  options.recipe.optimizer.learning_rate = 0.2f;
  options.lr_schedule.kind = LrScheduleKind::kStep;
  options.lr_schedule.decay = 0.5;
  options.lr_schedule.step_rounds = 1;  // 0.2, 0.1, 0.05, ...
  options.qsr = QsrOptions{};
  options.qsr->base_steps = 2;
  options.qsr->alpha = 0.2;
  options.qsr->total_steps = 30;
  FedAvg fedavg(options);
  const std::vector<ClientInfo> cohort = Cohort(2);
  // H: max(2, ⌊(0.2/η)²⌋) = 2, 4, 16, then clipped to the 30 − 22 = 8 left.
  CHECK(fedavg.ConfigureFit(0, cohort)[0].recipe.local_steps == 2);
  CHECK(fedavg.ConfigureFit(1, cohort)[1].recipe.local_steps == 4);
  CHECK(fedavg.ConfigureFit(2, cohort)[0].recipe.local_steps == 16);
  CHECK(fedavg.ConfigureFit(3, cohort)[0].recipe.local_steps == 8);
  // Asking out of order gives the same answer (H is a function of the round).
  FedAvg other(options);
  CHECK(other.LocalStepsAt(3) == 8);
  CHECK(other.LocalStepsAt(1) == 4);
}

TEST_CASE("strategy SaveState and RestoreState reproduce the next round exactly") {
  Rng rng(4);
  FedAvgOptions options;
  options.server.kind = ServerOptimizerKind::kAdam;
  options.server.learning_rate = 0.05;
  FedAvg original(options);
  Eigen::VectorXf w = RandomVector(rng, 100);
  for (int round = 0; round < 3; ++round) {
    const std::vector<train::FitResult> results = {
        Result("a", w + RandomVector(rng, 100, 0.1f), 3)};
    w = *original.AggregateFit(round, w, results, {}).parameters;
  }
  FedAvg restored(options);
  restored.RestoreState(original.SaveState());
  const std::vector<train::FitResult> results = {Result("a", w + RandomVector(rng, 100, 0.1f), 3),
                                                 Result("b", w + RandomVector(rng, 100, 0.1f), 5)};
  const Eigen::VectorXf x = *original.AggregateFit(3, w, results, {}).parameters;
  const Eigen::VectorXf y = *restored.AggregateFit(3, w, results, {}).parameters;
  CHECK((x.array() == y.array()).all());
}

TEST_CASE("FedAvg options are validated with the key named") {
  FedAvgOptions options;
  options.aggregator = AggregatorKind::kTrimmedMean;
  options.trim_fraction = 0.7;
  CHECK_THROWS_WITH_AS(FedAvg{options}, doctest::Contains("trim_fraction"), ConfigError);
  options = FedAvgOptions{};
  options.recipe.batch_size = 0;
  CHECK_THROWS_AS(FedAvg{options}, ConfigError);
  CHECK_THROWS_WITH_AS(ParseAggregator("krum"), doctest::Contains("trimmed_mean"), ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
