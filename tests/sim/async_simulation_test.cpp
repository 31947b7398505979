// `edgefl sim` with mode = async end to end: the run is logged as async, one
// round row per model version with its virtual time, client updates with
// their staleness, and a repeated run gives the same log figures.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

engine::ExperimentConfig AsyncConfig(const edgefl::testing::TempDir& dir, const std::string& name) {
  return engine::LoadExperimentConfig(
      {}, {"mode=async", "strategy=async_dn", "dylu=true", "dataset=synthetic", "partition=natural",
           "model=mlp:60-10", "clients=6", "clients_per_round=6", "local_steps=10", "batch_size=16",
           "lr=0.05", "rounds=12", "eval_every=4", "speed_spread=8", "dropout=0.1", "threads=2",
           "run_name=" + name, "db=" + (dir / "log.db").string()});
}

TEST_CASE("async simulation: versions are logged with virtual time and staleness") {
  edgefl::testing::TempDir dir;
  const SimulationResult a = RunSimulation(AsyncConfig(dir, "a"), nullptr);
  const SimulationResult b = RunSimulation(AsyncConfig(dir, "b"), nullptr);
  CHECK(a.last_round == 12);
  CHECK(a.virtual_seconds > 0.0);
  CHECK(a.final_accuracy > 0.1);
  CHECK(a.final_accuracy == b.final_accuracy);
  CHECK(a.virtual_seconds == b.virtual_seconds);

  storage::ExperimentLog log((dir / "log.db").string());
  CHECK(log.ListRuns().front().run.spec.mode == "async");
  const std::vector<storage::RoundRecord> rounds = log.Rounds(a.run_id);
  REQUIRE(rounds.size() == 12);
  double previous = 0.0;
  for (const storage::RoundRecord& r : rounds) {
    CHECK(r.model_version == r.round);
    REQUIRE(r.virtual_time.has_value());
    CHECK(*r.virtual_time >= previous);
    previous = *r.virtual_time;
  }
  int64_t stale = 0, accepted = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(a.run_id)) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    ++accepted;
    CHECK(u.staleness >= 0);
    CHECK(u.staleness < u.round);
    stale += u.staleness > 0;
  }
  CHECK(accepted >= 12);
  CHECK(stale > 0);  // six clients in flight: most updates are stale
}

// Equal clients on equal shares arrive at the same virtual instant, so one
// step of the clock makes several versions before the runner takes the
// first: the run still logs every version up to `rounds` (it once stopped
// early, logged as completed) and evaluates each version's own model.
TEST_CASE("async simulation: simultaneous arrivals still give every version up to rounds") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig c = engine::LoadExperimentConfig(
      {},
      {"mode=async", "strategy=fedasync", "dataset=synthetic", "partition=iid", "model=mlp:60-10",
       "clients=6", "clients_per_round=6", "local_steps=5", "rounds=20", "eval_every=1",
       "speed_spread=1", "threads=1", "run_name=same-speed", "db=" + (dir / "log.db").string()});
  const SimulationResult result = RunSimulation(c, nullptr);
  CHECK(result.last_round == 20);
  storage::ExperimentLog log((dir / "log.db").string());
  CHECK(log.ListRuns().front().run.status == storage::RunStatus::kCompleted);
  const std::vector<storage::RoundRecord> rounds = log.Rounds(result.run_id);
  REQUIRE(rounds.size() == 20);
  for (size_t i = 0; i < rounds.size(); ++i)
    CHECK(rounds[i].model_version == static_cast<int64_t>(i + 1));
  const std::vector<storage::EvaluationRecord> evals = log.Evaluations(result.run_id);
  REQUIRE(evals.size() == 21);
  for (size_t i = 1; i < evals.size(); ++i)
    CHECK(evals[i].loss != evals[i - 1].loss);  // each version's own model
  CHECK(log.LatestCheckpoint(result.run_id)->round == 20);
}

// A client 8x as fast returns twice before FedBuff's buffer of 4 fills: both
// updates are logged in that version (seq 0 and 1; the run once failed on
// the log's duplicate key).
TEST_CASE("async simulation: a fast client's two updates in one version are both logged") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig c = engine::LoadExperimentConfig(
      {}, {"mode=async", "strategy=fedbuff", "buffer_size=4", "dataset=synthetic", "partition=iid",
           "model=mlp:60-10", "clients=6", "clients_per_round=6", "local_steps=5", "rounds=20",
           "speed_spread=8", "threads=1", "run_name=fast", "db=" + (dir / "log.db").string()});
  const SimulationResult result = RunSimulation(c, nullptr);
  CHECK(result.last_round == 20);
  storage::ExperimentLog log((dir / "log.db").string());
  int64_t repeats = 0, accepted = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(result.run_id)) {
    repeats += u.seq > 0;
    accepted += u.status == storage::UpdateStatus::kAccepted;
  }
  CHECK(repeats > 0);
  CHECK(accepted == 4 * 20);  // every version folds exactly the buffer
}

TEST_CASE("async simulation: a sync strategy in async mode and the reverse are config errors") {
  edgefl::testing::TempDir dir;
  engine::ExperimentConfig c = AsyncConfig(dir, "x");
  c.strategy = "fedavg";
  CHECK_THROWS_AS(RunSimulation(c, nullptr), ConfigError);
  c.strategy = "fedbuff";
  c.mode = "sync";
  c.algorithm_params.clear();
  CHECK_THROWS_WITH_AS(RunSimulation(c, nullptr), doctest::Contains("mode"), ConfigError);
}

}  // namespace
}  // namespace edgefl::sim
