// The Oort selector end to end: examples/oort.toml in the simulator, on its
// virtual clock with an 8x speed spread.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/heterogeneity.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

engine::ExperimentConfig SmallOort(const edgefl::testing::TempDir& dir,
                                   const std::string& selector) {
  const std::filesystem::path example =
      std::filesystem::path(edgefl::testing::SourceDir()) / "examples" / "oort.toml";
  return edgefl::testing::LoadTestConfig(
      example, {"selector=" + selector, "rounds=12", "clients=16", "clients_per_round=4",
                "train_subset=3000", "test_subset=500", "model=mlp:784-32-10",
                "selector_pacer_step=3", "threads=2", "db=" + (dir / "log.db").string()});
}

}  // namespace

TEST_CASE(
    "Oort in the simulator: runs from examples/oort.toml, favours fast clients, is deterministic") {
  edgefl::testing::TempDir a, b;
  const engine::ExperimentConfig config = SmallOort(a, "oort");
  const SimulationResult first = RunSimulation(config, nullptr);
  CHECK(first.last_round == 12);
  CHECK(first.final_accuracy > 0.4);
  const SimulationResult again = RunSimulation(SmallOort(b, "oort"), nullptr);
  CHECK(again.final_accuracy == first.final_accuracy);
  CHECK(again.virtual_seconds == first.virtual_seconds);

  // Every round trains k clients; after exploring, the cohort leans to the
  // fast clients (speeds from the same fleet the simulator drew).
  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun(config.run_name);
  REQUIRE(run.has_value());
  for (const auto& r : log.Rounds(run->id))
    CHECK(r.completed == 4);
  HeterogeneityOptions fleet_options;
  fleet_options.speed_spread = config.speed_spread;
  fleet_options.base_speed = config.base_speed;
  fleet_options.seed = static_cast<uint64_t>(config.seed);
  const Fleet fleet(fleet_options, 16);
  std::map<std::string, double> speed;
  for (size_t k = 0; k < 16; ++k) {
    char id[32];
    std::snprintf(id, sizeof id, "sim-%04zu", k);
    speed[id] = fleet.speed(k);
  }
  double late_speed = 0.0, fleet_speed = 0.0;
  int late = 0;
  for (const auto& u : log.ClientUpdates(run->id)) {
    if (u.round <= 6) continue;
    late_speed += speed.at(u.client_id);
    ++late;
  }
  for (const auto& [id, s] : speed)
    fleet_speed += s / 16.0;
  REQUIRE(late > 0);
  CHECK(late_speed / late > 1.2 * fleet_speed);  // uniform picks would average the fleet
}

}  // namespace edgefl::sim

namespace edgefl::sim {

TEST_CASE(
    "Oort in the simulator: a run resumed from its checkpoint selects as the uninterrupted one") {
  edgefl::testing::TempDir straight, resumed;
  RunSimulation(SmallOort(straight, "oort"), nullptr);
  engine::ExperimentConfig half = SmallOort(resumed, "oort");
  half.rounds = 6;
  RunSimulation(half, nullptr);
  {
    storage::ExperimentLog log(half.db);
    const auto run = log.FindRun(half.run_name);
    // Schema 7: the selector's state is in the checkpoint.
    CHECK(log.LatestCheckpoint(run->id)->selector_state.rfind("oort-state-1 ", 0) == 0);
    log.EndRun(run->id, storage::RunStatus::kInterrupted, "test");
  }
  const SimulationResult result = RunSimulation(SmallOort(resumed, "oort"), nullptr);
  CHECK(result.first_round == 7);

  // Round by round, the same clients trained (in cohort order), and the
  // model is the same bit for bit.
  auto cohorts = [](const std::string& db, const std::string& name) {
    storage::ExperimentLog log(db);
    const auto run = log.FindRun(name);
    std::map<int64_t, std::vector<std::string>> by_round;
    for (const auto& u : log.ClientUpdates(run->id))
      by_round[u.round].push_back(u.client_id);
    return std::make_pair(by_round, log.LatestCheckpoint(run->id)->parameters);
  };
  const auto [want, want_model] = cohorts((straight / "log.db").string(), half.run_name);
  const auto [got, got_model] = cohorts(half.db, half.run_name);
  REQUIRE(want.size() == 12);
  CHECK(got == want);
  CHECK(got_model == want_model);
}

}  // namespace edgefl::sim
