#include "sim/simulation.h"

#include <doctest/doctest.h>

#include "common/error.h"
#include "privacy/rdp_accountant.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

// A short FedAvg run on a Fashion-MNIST subset with Dirichlet label skew.
engine::ExperimentConfig SimulationSmallRun(const TempDir& dir,
                                            std::vector<std::string> extra = {}) {
  std::vector<std::string> overrides = {"rounds=4",
                                        "clients=6",
                                        "clients_per_round=4",
                                        "train_subset=3000",
                                        "test_subset=1000",
                                        "partition=dirichlet",
                                        "alpha=0.5",
                                        "model=mlp:784-32-10",
                                        "lr=0.05",
                                        "momentum=0.9",
                                        "batch_size=32",
                                        "threads=2",
                                        "db=" + (dir / "log.db").string(),
                                        "run_name=small"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return edgefl::testing::LoadTestConfig({}, overrides);
}

}  // namespace

TEST_CASE("Simulation: accuracy rises and the experiment log holds every round") {
  TempDir dir;
  const engine::ExperimentConfig config = SimulationSmallRun(dir);
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.first_round == 1);
  CHECK(result.last_round == 4);
  CHECK(result.final_accuracy > 0.6);

  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun("small");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(run->spec.strategy == "fedavg");
  CHECK(run->spec.config.find("rounds = 4") != std::string::npos);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 4);
  for (const auto& r : rounds) {
    CHECK(r.selected == 4);
    CHECK(r.completed == 4);
  }
  CHECK(log.ClientUpdates(run->id).size() == 16);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 5);  // the initial model and every round
  CHECK(evals.front().round == 0);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
  CHECK(evals.back().per_class_accuracy.size() == 10);
  CHECK(log.LatestCheckpoint(run->id)->round == 4);
}

TEST_CASE("Simulation: results do not depend on the number of threads") {
  TempDir one, two;
  RunSimulation(SimulationSmallRun(one, {"threads=1"}), nullptr);
  RunSimulation(SimulationSmallRun(two, {"threads=2"}), nullptr);
  CHECK(storage::test::FinalCheckpoint((one / "log.db").string(), "small").parameters ==
        storage::test::FinalCheckpoint((two / "log.db").string(), "small").parameters);
}

TEST_CASE("Simulation: an interrupted run resumes from its last round to the same model") {
  TempDir straight, resumed;
  RunSimulation(SimulationSmallRun(straight), nullptr);

  const engine::ExperimentConfig first_half = SimulationSmallRun(resumed, {"rounds=2"});
  RunSimulation(first_half, nullptr);
  {
    storage::ExperimentLog log(first_half.db);
    log.EndRun(log.FindRun("small")->id, storage::RunStatus::kInterrupted, "test");
  }
  const SimulationResult result = RunSimulation(SimulationSmallRun(resumed), nullptr);
  CHECK(result.first_round == 3);
  CHECK(result.last_round == 4);
  CHECK(storage::test::FinalCheckpoint(first_half.db, "small").parameters ==
        storage::test::FinalCheckpoint((straight / "log.db").string(), "small").parameters);

  // A completed run is not run again.
  CHECK_THROWS_WITH_AS(RunSimulation(SimulationSmallRun(resumed), nullptr),
                       doctest::Contains("already complete"), ConfigError);
}

TEST_CASE("Simulation: a resumed FedAdam run keeps its server moments and ends at the same model") {
  // FedAdam's first and second moments live in the checkpoint's strategy
  // state: without them the resumed run would take a different third step.
  const std::vector<std::string> adam = {"strategy=fedadam", "server_lr=0.01"};
  TempDir straight, resumed;
  RunSimulation(SimulationSmallRun(straight, adam), nullptr);

  std::vector<std::string> half = adam;
  half.push_back("rounds=2");
  const engine::ExperimentConfig first_half = SimulationSmallRun(resumed, half);
  RunSimulation(first_half, nullptr);
  {
    storage::ExperimentLog log(first_half.db);
    const int64_t run = log.FindRun("small")->id;
    // [t, m, v] for every parameter after two server steps.
    const storage::Checkpoint checkpoint = *log.LatestCheckpoint(run);
    CHECK(checkpoint.strategy_state.size() == 1 + 2 * checkpoint.parameters.size());
    CHECK(checkpoint.strategy_state[0] == 2.0f);
    log.EndRun(run, storage::RunStatus::kInterrupted, "test");
  }
  const SimulationResult result = RunSimulation(SimulationSmallRun(resumed, adam), nullptr);
  CHECK(result.first_round == 3);
  CHECK(storage::test::FinalCheckpoint(first_half.db, "small").parameters ==
        storage::test::FinalCheckpoint((straight / "log.db").string(), "small").parameters);
}

TEST_CASE("Simulation: a QSR run stops exactly at its step budget and says so in the log") {
  TempDir dir;
  // Cosine from 0.05 over 40 steps, H = max(4, ⌊(0.1/η(S))²⌋): by hand
  // 4, 4, 4, 6 (S = 12), 11 (S = 18), then 11 of the 133 asked at S = 29,
  // the steps left: 40 in 6 rounds, though rounds allows 50.
  const engine::ExperimentConfig config =
      SimulationSmallRun(dir, {"rounds=50", "eval_every=100", "qsr=true", "qsr_h_base=4",
                               "qsr_alpha=0.1", "qsr_total_steps=40", "lr_schedule=cosine"});
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 6);

  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun("small");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(log.Rounds(run->id).size() == 6);
  const std::vector<int64_t> expected = {4, 4, 4, 6, 11, 11};
  int64_t steps_of_one_client = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    CAPTURE(u.round);
    REQUIRE(u.round >= 1);
    REQUIRE(u.round <= 6);
    CHECK(u.local_steps == expected[static_cast<size_t>(u.round - 1)]);
  }
  for (int64_t h : expected)
    steps_of_one_client += h;
  CHECK(steps_of_one_client == 40);
  // The last round is evaluated although eval_every is 100.
  CHECK(log.Evaluations(run->id).back().round == 6);
  const std::vector<storage::RunEvent> events = log.Events(run->id);
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().kind == "budget_spent");
  CHECK(events.back().detail == "QSR step budget of 40 local steps spent after round 6");
}

TEST_CASE("Simulation: a DP-FedAvg run ends before its round would exceed target_epsilon") {
  TempDir dir;
  // q = 4/6, z = 2, δ = 1/6: the target lies between the ε of rounds 2 and 3.
  privacy::RdpAccountant accountant(4.0 / 6.0, 2.0);
  const double target =
      0.5 * (accountant.SpentAfter(2, 1.0 / 6).epsilon + accountant.SpentAfter(3, 1.0 / 6).epsilon);
  const engine::ExperimentConfig config = SimulationSmallRun(
      dir, {"rounds=10", "eval_every=100", "momentum=0", "dp=true", "dp_noise=seeded",
            "dp_noise_multiplier=2", "dp_clip=1", "dp_target_epsilon=" + std::to_string(target)});
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 2);
  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun("small");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const std::vector<storage::RunEvent> events = log.Events(run->id);
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().kind == "budget_spent");
  CHECK(events.back().detail.find("privacy budget: another round would reach") == 0);
  CHECK(events.back().detail.find("in 2 rounds") != std::string::npos);
  // ε after each round is in the log, as the accountant computes it.
  const std::vector<storage::RoundRecord> rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0].metrics.at("epsilon") == accountant.SpentAfter(1, 1.0 / 6).epsilon);
  CHECK(rounds[1].metrics.at("epsilon") == accountant.SpentAfter(2, 1.0 / 6).epsilon);
  CHECK(rounds[1].metrics.at("dp_clip") == 1.0);
}

TEST_CASE("Simulation: DP-FedAvg refuses a selector that does not sample uniformly") {
  TempDir dir;
  for (const char* selector : {"oort", "curriculum", "speed_aware"}) {
    CAPTURE(selector);
    const std::string message =
        std::string(
            "needs selector = \"uniform\": the privacy accountant assumes each round's "
            "cohort is a uniform sample of the clients, and selector \"") +
        selector;
    CHECK_THROWS_WITH_AS(
        RunSimulation(SimulationSmallRun(dir, {"dp=true", std::string("selector=") + selector}),
                      nullptr),
        doctest::Contains(message.c_str()), ConfigError);
  }
  // Nothing was written.
  CHECK_FALSE(std::filesystem::exists(dir / "log.db"));
  // Without dp the same selectors run.
  CHECK_NOTHROW(RunSimulation(SimulationSmallRun(dir, {"rounds=1", "selector=oort"}), nullptr));
}

TEST_CASE("Simulation: bad configs name the key before any data is loaded") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(RunSimulation(SimulationSmallRun(dir, {"strategy=fedsgd"}), nullptr),
                       doctest::Contains("fedsgd"), ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(SimulationSmallRun(dir, {"sever_lr=0.5"}), nullptr),
                       doctest::Contains("sever_lr"), ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(SimulationSmallRun(dir, {"model=mlp:60-10"}), nullptr),
                       doctest::Contains("784"), ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(SimulationSmallRun(dir, {"dataset=mnist3d"}), nullptr),
                       doctest::Contains("mnist3d"), ConfigError);
}

}  // namespace edgefl::sim
