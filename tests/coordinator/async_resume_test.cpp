// `edgefl sim` with mode = async resumed: a run that did not complete
// continues after its last committed version with the model and the
// strategy's state of that version's checkpoint, on the continued virtual
// clock, and the log holds every version once (storage/log_check.h); a
// completed run, or one of the other mode or strategy, is refused by name.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {
namespace {

using storage::test::Violations;

// async_dn (buffer = the 6 clients) with DyLU on the synthetic data.
engine::ExperimentConfig AsyncConfig(const edgefl::testing::TempDir& dir,
                                     std::vector<std::string> extra) {
  std::vector<std::string> overrides = {"mode=async",        "strategy=async_dn",
                                        "dylu=true",         "dataset=synthetic",
                                        "partition=natural", "model=mlp:60-10",
                                        "clients=6",         "clients_per_round=6",
                                        "local_steps=10",    "batch_size=16",
                                        "lr=0.05",           "rounds=12",
                                        "eval_every=4",      "speed_spread=8",
                                        "dropout=0.1",       "threads=2",
                                        "run_name=resumed",  "db=" + (dir / "log.db").string()};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return engine::LoadExperimentConfig({}, overrides);
}

void MarkInterrupted(const std::string& db, const std::string& run) {
  storage::ExperimentLog log(db);
  log.EndRun(log.FindRun(run)->id, storage::RunStatus::kInterrupted, "test");
}

int64_t InitialEvaluations(storage::ExperimentLog& log, int64_t run) {
  int64_t n = 0;
  for (const storage::EvaluationRecord& e : log.Evaluations(run))
    n += e.round == 0;
  return n;
}

TEST_CASE("async simulation: an interrupted run resumes at the next version with its state") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig first = AsyncConfig(dir, {"rounds=5"});
  const sim::SimulationResult before = sim::RunSimulation(first, nullptr);
  REQUIRE(before.last_round == 5);
  double vtime_5 = 0.0;
  {
    storage::ExperimentLog log(first.db);
    const int64_t run = log.FindRun("resumed")->id;
    // async_dn's state [t, m, Δ]: t counts arrivals, one per version.
    const storage::Checkpoint checkpoint = *log.LatestCheckpoint(run);
    CHECK(checkpoint.strategy_state[0] == 5.0f);
    vtime_5 = *log.Rounds(run).back().virtual_time;
    log.EndRun(run, storage::RunStatus::kInterrupted, "test");
  }

  const engine::ExperimentConfig config = AsyncConfig(dir, {});
  const sim::SimulationResult result = sim::RunSimulation(config, nullptr);
  CHECK(result.run_id == before.run_id);
  CHECK(result.first_round == 6);
  CHECK(result.last_round == 12);
  CHECK(result.virtual_seconds > vtime_5);
  CHECK(result.final_accuracy > 0.1);

  CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");
  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun("resumed");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const std::vector<storage::RoundRecord> rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 12);
  double previous = 0.0;
  for (size_t i = 0; i < rounds.size(); ++i) {
    CAPTURE(i);
    CHECK(rounds[i].round == static_cast<int64_t>(i + 1));
    CHECK(rounds[i].model_version == static_cast<int64_t>(i + 1));
    REQUIRE(rounds[i].virtual_time.has_value());
    CHECK(*rounds[i].virtual_time >= previous);  // the clock went on from version 5
    previous = *rounds[i].virtual_time;
  }
  // Updates of the resumed versions start from version 5 or later: the
  // clients were sent the resumed model, not the initial one.
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.round <= 5 || u.status != storage::UpdateStatus::kAccepted) continue;
    CAPTURE(u.round);
    CHECK(u.round - 1 - u.staleness >= 5);
  }
  // The arrival counter went on from 5 (restored), not from 0.
  CHECK(log.LatestCheckpoint(run->id)->strategy_state[0] == 12.0f);
  CHECK(InitialEvaluations(log, run->id) == 1);  // not evaluated again on resume

  // A completed run is not run again, and the message names it.
  CHECK_THROWS_WITH_AS(sim::RunSimulation(config, nullptr),
                       doctest::Contains("run 'resumed' is already complete"), ConfigError);
}

TEST_CASE("async simulation: a run of the other mode or strategy is refused and left as it was") {
  edgefl::testing::TempDir dir;
  sim::RunSimulation(AsyncConfig(dir, {"rounds=2"}), nullptr);
  MarkInterrupted((dir / "log.db").string(), "resumed");

  engine::ExperimentConfig sync = AsyncConfig(dir, {"mode=sync", "strategy=fedavg"});
  sync.algorithm_params.clear();  // dylu
  const std::string wrong_mode =
      "run 'resumed' in " + sync.db + " was started with mode = \"async\"";
  CHECK_THROWS_WITH_AS(sim::RunSimulation(sync, nullptr), doctest::Contains(wrong_mode.c_str()),
                       ConfigError);
  CHECK_THROWS_WITH_AS(sim::RunSimulation(AsyncConfig(dir, {"strategy=fedbuff"}), nullptr),
                       doctest::Contains("started with strategy async_dn"), ConfigError);
  CHECK_THROWS_WITH_AS(sim::RunSimulation(AsyncConfig(dir, {"model=mlp:60-8-10"}), nullptr),
                       doctest::Contains("started with model mlp:60-10"), ConfigError);
  {
    storage::ExperimentLog log((dir / "log.db").string());
    CHECK(log.FindRun("resumed")->status == storage::RunStatus::kInterrupted);
  }

  // A sync run's name with mode = async.
  engine::ExperimentConfig fedavg =
      AsyncConfig(dir, {"mode=sync", "strategy=fedavg", "rounds=1", "run_name=sync-run"});
  fedavg.algorithm_params.clear();
  sim::RunSimulation(fedavg, nullptr);
  MarkInterrupted(fedavg.db, "sync-run");
  CHECK_THROWS_WITH_AS(sim::RunSimulation(AsyncConfig(dir, {"run_name=sync-run"}), nullptr),
                       doctest::Contains("was started with mode = \"sync\""), ConfigError);
}

// A coordinator that died after opening the run and evaluating the initial
// model, before its first version: the resume starts at version 1 and does
// not record the initial evaluation twice.
TEST_CASE("async simulation: a run that stopped before its first version starts over once") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig config = AsyncConfig(dir, {"rounds=4"});
  {
    storage::ExperimentLog log(config.db);
    storage::RunSpec spec;
    spec.name = config.run_name;
    spec.strategy = config.strategy;
    spec.mode = "async";
    spec.model_spec = config.model;
    const int64_t run = log.BeginRun(spec);
    storage::EvaluationRecord initial;
    initial.split = "test";
    initial.accuracy = 0.1;
    log.RecordEvaluation(run, initial);
  }
  const sim::SimulationResult result = sim::RunSimulation(config, nullptr);
  CHECK(result.first_round == 1);
  CHECK(result.last_round == 4);
  CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");
  storage::ExperimentLog log(config.db);
  CHECK(InitialEvaluations(log, result.run_id) == 1);
  CHECK(log.Rounds(result.run_id).size() == 4);
}

}  // namespace
}  // namespace edgefl::coordinator
