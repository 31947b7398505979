#include "algorithms/fedavg.h"

#include <cmath>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "tests/algorithms/normal_vector.h"

namespace edgefl::algorithms {
namespace {

train::FitResult FedavgResult(const std::string& id, Eigen::VectorXf parameters, size_t samples) {
  train::FitResult r;
  r.client = id;
  r.train.parameters = std::move(parameters);
  r.train.num_samples = samples;
  return r;
}

std::vector<ClientInfo> FedavgCohort(size_t n) {
  std::vector<ClientInfo> cohort(n);
  for (size_t i = 0; i < n; ++i)
    cohort[i].id = "sim-" + std::to_string(i);
  return cohort;
}

TEST_CASE("FedAvg of identical updates is that update") {
  Rng rng(1);
  const Eigen::VectorXf w = testing::NormalVector(rng, 300);
  const Eigen::VectorXf u = testing::NormalVector(rng, 300);
  FedAvg fedavg(FedAvgOptions{});
  const std::vector<train::FitResult> results = {FedavgResult("a", u, 10), FedavgResult("b", u, 7),
                                                 FedavgResult("c", u, 1)};
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
  const std::vector<train::FitResult> results = {FedavgResult("a", a, 1), FedavgResult("b", b, 3)};
  const AggregateOutcome out = fedavg.AggregateFit(0, w, results, {});
  CHECK((*out.parameters)[0] == 3.0f);
  CHECK((*out.parameters)[1] == 1.0f);
  const std::vector<train::FitResult> same = {FedavgResult("a", w, 5), FedavgResult("b", w, 2)};
  CHECK((fedavg.AggregateFit(1, w, same, {}).parameters->array() == w.array()).all());
}

TEST_CASE("FedAvg with no results keeps the model and rejects wrong sizes") {
  FedAvg fedavg(FedAvgOptions{});
  const Eigen::VectorXf w = Eigen::VectorXf::Ones(4);
  CHECK_FALSE(fedavg.AggregateFit(0, w, {}, {}).parameters.has_value());
  const std::vector<train::FitResult> results = {
      FedavgResult("sim-1", Eigen::VectorXf::Zero(3), 5),
      FedavgResult("sim-2", Eigen::VectorXf::Zero(4), 5)};
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
  Eigen::VectorXf a = testing::NormalVector(rng, 200);
  Eigen::VectorXf b = a;
  for (int round = 0; round < 4; ++round) {
    std::vector<train::FitResult> results;
    for (int k = 0; k < 3; ++k) {
      results.push_back(FedavgResult(std::string("c").append(std::to_string(k)),
                                     a + testing::NormalVector(rng, 200, 0.1f),
                                     static_cast<size_t>(10 + k)));
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
    results.push_back(FedavgResult(std::string("honest-").append(std::to_string(k)),
                                   Eigen::VectorXf::Constant(50, 1.0f + 0.01f * k), 10));
  }
  results.push_back(FedavgResult("attacker", Eigen::VectorXf::Constant(50, 1e6f), 1000));
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
  options.lr_schedule.kind = train::LrScheduleKind::kStep;
  options.lr_schedule.decay = 0.5;
  options.lr_schedule.step_every = 2;
  options.seed = 42;
  FedAvg fedavg(options);
  const std::vector<ClientInfo> cohort = FedavgCohort(4);
  const std::vector<train::FitInstructions> round0 = fedavg.ConfigureFit(0, cohort);
  // Round r has t = r − 1: round 3 is the first at the decayed lr.
  const std::vector<train::FitInstructions> round2 = fedavg.ConfigureFit(3, cohort);
  REQUIRE(round0.size() == 4);
  std::set<uint64_t> seeds;
  for (size_t i = 0; i < 4; ++i) {
    CHECK(round0[i].recipe.optimizer.learning_rate == doctest::Approx(0.1));
    CHECK(round2[i].recipe.optimizer.learning_rate == doctest::Approx(0.05));
    CHECK(round0[i].recipe.epochs == 3);
    CHECK(round0[i].recipe.batch_size == 16);
    CHECK(round0[i].local.objective == "wafl");
    CHECK(round0[i].local.params.at("gamma") == 0.05);
    CHECK(round2[i].model_version == 3);
    CHECK_FALSE(round2[i].recipe.lr_schedule.has_value());  // one lr per round
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

namespace {

FedAvgOptions QsrStepOptions() {
  FedAvgOptions options;
  options.recipe.optimizer.learning_rate = 0.2f;
  options.lr_schedule.kind = train::LrScheduleKind::kStep;
  options.lr_schedule.decay = 0.5;
  options.lr_schedule.step_every = 4;  // global steps: 0.2 on 0..3, 0.1 on 4..7, 0.05 on 8..11, ...
  options.qsr = QsrOptions{};
  options.qsr->base_steps = 2;
  options.qsr->alpha = 0.2;
  options.qsr->total_steps = 30;
  return options;
}

}  // namespace

TEST_CASE("QSR recomputes H at every averaging from the lr at that global step") {
  FedAvg fedavg(QsrStepOptions());
  // By hand, H = max(2, ⌊(0.2/η(S))²⌋) clipped to the 30 − S steps left:
  //   S = 0:  η 0.2 → 1 → 2;    S = 2:  η 0.2 → 2;    S = 4: η 0.1 → 4;
  //   S = 8:  η 0.05 → 16;      S = 24: η 0.2·0.5⁶ → 4096, clipped to 6.
  const std::vector<int64_t> starts = {0, 2, 4, 8, 24};
  const std::vector<int64_t> steps = {2, 2, 4, 16, 6};
  const std::vector<double> lrs = {0.2, 0.2, 0.1, 0.05, 0.003125};
  const std::vector<ClientInfo> cohort = FedavgCohort(2);
  for (int64_t r = 1; r <= 5; ++r) {
    CAPTURE(r);
    const size_t k = static_cast<size_t>(r - 1);
    const std::vector<train::FitInstructions> fit = fedavg.ConfigureFit(r, cohort);
    for (const train::FitInstructions& f : fit) {
      CHECK(f.recipe.local_steps == steps[k]);
      CHECK(f.recipe.step_offset == starts[k]);
      CHECK(f.recipe.optimizer.learning_rate == doctest::Approx(lrs[k]));
      // The clients get the per-step schedule itself: the lr moves inside the round.
      REQUIRE(f.recipe.lr_schedule.has_value());
      CHECK(f.recipe.lr_schedule->kind == train::LrScheduleKind::kStep);
      CHECK(f.recipe.lr_schedule->base == doctest::Approx(0.2));
      CHECK(f.recipe.lr_schedule->step_every == 4);
    }
    const AggregateOutcome out = fedavg.AggregateFit(
        r, Eigen::VectorXf::Zero(3),
        std::vector<train::FitResult>{FedavgResult("a", Eigen::VectorXf::Ones(3), 1)}, {});
    CHECK(out.metrics.at("local_steps") == static_cast<double>(steps[k]));
    CHECK(out.metrics.at("global_step") == static_cast<double>(starts[k] + steps[k]));
    CHECK(fedavg.BudgetSpentAfter(r).has_value() == (r == 5));
  }
  CHECK(*fedavg.BudgetSpentAfter(5) == "QSR step budget of 30 local steps spent after round 5");
  // Past the budget there is nothing to configure.
  CHECK(fedavg.LocalStepsAt(6) == 0);
  CHECK_THROWS_WITH_AS(fedavg.ConfigureFit(6, cohort), doctest::Contains("budget of 30"), Error);
  // Asking out of order gives the same answer (H is a function of the round).
  FedAvg other(QsrStepOptions());
  CHECK(other.LocalStepsAt(4) == 16);
  CHECK(other.QsrStartAt(5) == 24);
  CHECK(other.LocalStepsAt(2) == 2);
}

TEST_CASE("QSR's H sequence on a cosine with warm-up, pinned by hand") {
  FedAvgOptions options;
  options.recipe.optimizer.learning_rate = 0.1f;
  options.lr_schedule.kind = train::LrScheduleKind::kCosine;
  options.lr_schedule.warmup = 8;  // steps; the cosine runs over the 120-step budget
  options.qsr = QsrOptions{};
  options.qsr->base_steps = 2;
  options.qsr->alpha = 0.03;
  options.qsr->total_steps = 120;
  FedAvg fedavg(options);
  CHECK(fedavg.options().lr_schedule.total == 120);
  // Warm-up: η(0) = 0.1/8 gives (0.03/0.0125)² = 5.76, but H stays H_base = 2.
  CHECK(fedavg.LocalStepsAt(1) == 2);
  // H = 2 while η(S) ≥ 0.03/√3 ≈ 0.0173: rounds 1..45 (S = 0, 2, ..., 88).
  for (int64_t r = 1; r <= 45; ++r) {
    CAPTURE(r);
    REQUIRE(fedavg.LocalStepsAt(r) == 2);
  }
  // η(S) = 0.05·(1 + cos(π(S − 8)/112)):
  //   S = 90:  η 0.016683 → ⌊3.23⌋ = 3;   S = 93: η 0.013667 → ⌊4.82⌋ = 4;
  //   S = 97:  η 0.010049 → ⌊8.91⌋ = 8;   S = 105: η 0.0043608 → ⌊47.3⌋ = 47,
  //   clipped to the 15 steps left.
  CHECK(fedavg.QsrStartAt(46) == 90);
  CHECK(fedavg.LocalStepsAt(46) == 3);
  CHECK(fedavg.LocalStepsAt(47) == 4);
  CHECK(fedavg.LocalStepsAt(48) == 8);
  CHECK(fedavg.QsrStartAt(49) == 105);
  CHECK(fedavg.LocalStepsAt(49) == 15);
  CHECK_FALSE(fedavg.BudgetSpentAfter(48).has_value());
  CHECK(fedavg.BudgetSpentAfter(49).has_value());
}

TEST_CASE("QSR with alpha 0 is Local SGD with a constant H on the same schedule and budget") {
  FedAvgOptions options = QsrStepOptions();
  options.qsr->alpha = 0.0;
  options.qsr->base_steps = 8;
  FedAvg fedavg(options);
  // 8, 8, 8, then the 6 left of 30.
  CHECK(fedavg.LocalStepsAt(1) == 8);
  CHECK(fedavg.LocalStepsAt(3) == 8);
  CHECK(fedavg.LocalStepsAt(4) == 6);
  CHECK(fedavg.BudgetSpentAfter(4).has_value());
  CHECK(fedavg.ConfigureFit(2, FedavgCohort(1))[0].recipe.step_offset == 8);
}

TEST_CASE("step_offset counts the local steps of the earlier rounds without QSR") {
  FedAvgOptions options;
  options.recipe.local_steps = 5;
  FedAvg fixed(options);
  CHECK(fixed.ConfigureFit(1, FedavgCohort(1))[0].recipe.step_offset == 0);
  CHECK(fixed.ConfigureFit(4, FedavgCohort(1))[0].recipe.step_offset == 15);
  CHECK_FALSE(fixed.BudgetSpentAfter(1000).has_value());
  // Epochs: each client's own steps per round, ⌈n_k / B⌉ · epochs.
  options.recipe.local_steps = 0;
  options.recipe.epochs = 2;
  options.recipe.batch_size = 10;
  FedAvg epochs(options);
  std::vector<ClientInfo> cohort = FedavgCohort(2);
  cohort[0].num_samples = 95;  // 10 batches
  cohort[1].num_samples = 20;  // 2 batches
  const std::vector<train::FitInstructions> fit = epochs.ConfigureFit(3, cohort);
  CHECK(fit[0].recipe.step_offset == 2 * 2 * 10);
  CHECK(fit[1].recipe.step_offset == 2 * 2 * 2);
}

TEST_CASE("QSR with a cosine schedule needs a step budget") {
  FedAvgOptions options;
  options.lr_schedule.kind = train::LrScheduleKind::kCosine;
  options.qsr = QsrOptions{};
  CHECK_THROWS_WITH_AS(FedAvg{options}, doctest::Contains("qsr_total_steps"), ConfigError);
}

TEST_CASE("strategy SaveState and RestoreState reproduce the next round exactly") {
  Rng rng(4);
  FedAvgOptions options;
  options.server.kind = ServerOptimizerKind::kAdam;
  options.server.learning_rate = 0.05;
  FedAvg original(options);
  Eigen::VectorXf w = testing::NormalVector(rng, 100);
  for (int round = 0; round < 3; ++round) {
    const std::vector<train::FitResult> results = {
        FedavgResult("a", w + testing::NormalVector(rng, 100, 0.1f), 3)};
    w = *original.AggregateFit(round, w, results, {}).parameters;
  }
  FedAvg restored(options);
  restored.RestoreState(original.SaveState());
  const std::vector<train::FitResult> results = {
      FedavgResult("a", w + testing::NormalVector(rng, 100, 0.1f), 3),
      FedavgResult("b", w + testing::NormalVector(rng, 100, 0.1f), 5)};
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
