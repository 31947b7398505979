// The experiment log says what happened: a resumed run keeps its config or
// records each allowed change, a round below quorum says it kept the model,
// one process owns a run, and a run whose process died is marked so.
#include <string>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "engine/experiment_runner.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "storage/run_lease.h"
#include "storage/run_summary.h"
#include "tests/sim/sim_config_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;
using storage::test::Violations;

// A short FedAvg run on a Fashion-MNIST subset.
engine::ExperimentConfig LogTruthSmallRun(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> overrides = {"rounds=2",
                                        "clients=6",
                                        "clients_per_round=6",
                                        "train_subset=1200",
                                        "test_subset=300",
                                        "partition=iid",
                                        "model=mlp:784-16-10",
                                        "lr=0.05",
                                        "momentum=0.9",
                                        "threads=2",
                                        "db=" + (dir / "log.db").string(),
                                        "run_name=truth"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return edgefl::testing::LoadTestConfig({}, overrides);
}

void MarkInterrupted(const engine::ExperimentConfig& config) {
  storage::ExperimentLog log(config.db);
  log.EndRun(log.FindRun(config.run_name)->id, storage::RunStatus::kInterrupted, "test");
}

std::vector<std::string> EventTexts(const engine::ExperimentConfig& config) {
  storage::ExperimentLog log(config.db);
  std::vector<std::string> out;
  for (const storage::RunEvent& e : log.Events(log.FindRun(config.run_name)->id))
    out.push_back(e.kind + ": " + e.detail);
  return out;
}

bool HasEvent(const std::vector<std::string>& events, const std::string& prefix) {
  for (const std::string& e : events)
    if (e.starts_with(prefix)) return true;
  return false;
}

}  // namespace

TEST_CASE("resume: changed keys that shape the results are refused by name with both values") {
  TempDir dir;
  RunSimulation(LogTruthSmallRun(dir), nullptr);
  const engine::ExperimentConfig first = LogTruthSmallRun(dir);
  MarkInterrupted(first);

  const engine::ExperimentConfig changed =
      LogTruthSmallRun(dir, {"rounds=4", "lr=0.5", "momentum=0.5"});
  CHECK_THROWS_WITH_AS(RunSimulation(changed, nullptr),
                       doctest::Contains("lr = 0.05 (now 0.5), momentum = 0.9 (now 0.5)"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(changed, nullptr), doctest::Contains("set run_name"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(LogTruthSmallRun(dir, {"strategy=fedavgm"}), nullptr),
                       doctest::Contains("was started with strategy fedavg"), ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(LogTruthSmallRun(dir, {"server_lr=0.5"}), nullptr),
                       doctest::Contains("server_lr = (unset) (now 0.5)"), ConfigError);

  // Left as it was: interrupted, two rounds, planned two, its config.
  storage::ExperimentLog log(first.db);
  const storage::RunInfo run = *log.FindRun("truth");
  CHECK(run.status == storage::RunStatus::kInterrupted);
  CHECK(run.spec.planned_rounds == 2);
  CHECK(run.spec.config.find("lr = 0.05") != std::string::npos);
  CHECK(log.Rounds(run.id).size() == 2);
  CHECK(log.Events(run.id).empty());
}

TEST_CASE("resume: more rounds are allowed and the change is an event in the log") {
  TempDir dir;
  RunSimulation(LogTruthSmallRun(dir), nullptr);
  MarkInterrupted(LogTruthSmallRun(dir));

  const engine::ExperimentConfig longer = LogTruthSmallRun(dir, {"rounds=4", "threads=1"});
  const SimulationResult result = RunSimulation(longer, nullptr);
  CHECK(result.first_round == 3);
  CHECK(result.last_round == 4);

  storage::ExperimentLog log(longer.db);
  const storage::RunInfo run = *log.FindRun("truth");
  CHECK(run.status == storage::RunStatus::kCompleted);
  CHECK(run.spec.planned_rounds == 4);
  CHECK(run.spec.config.find("rounds = 4") != std::string::npos);
  CHECK(run.owner == "pid " + std::to_string(::getpid()) + " on host " + [] {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    return std::string(host);
  }());
  const std::vector<std::string> events = EventTexts(longer);
  CHECK(HasEvent(events, "config_changed: rounds: 2 -> 4"));
  CHECK(HasEvent(events, "config_changed: threads: 2 -> 1"));
  CHECK(HasEvent(events, "resumed: by pid "));
  for (const storage::RunEvent& e : log.Events(run.id))
    CHECK(e.round == 2);  // both happened after round 2
  CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");
}

TEST_CASE("a round below quorum keeps the model, says why, and accepts no update") {
  TempDir dir;
  // Half the clients send NaN: 3 usable updates of the 6 the quorum needs.
  const engine::ExperimentConfig config =
      LogTruthSmallRun(dir, {"byzantine_mode=nan", "byzantine_fraction=0.5", "quorum=1"});
  RunSimulation(config, nullptr);

  storage::ExperimentLog log(config.db);
  const int64_t id = log.FindRun("truth")->id;
  const std::vector<storage::RoundRecord> rounds = log.Rounds(id);
  REQUIRE(rounds.size() == 2);
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK_FALSE(r.aggregated);
    CHECK(r.outcome == "quorum not reached: 3 of 6 needed usable updates");
    CHECK(r.completed == 0);
    CHECK(r.rejected == 3);
    CHECK(r.model_version == 0);
  }
  int discarded = 0, accepted = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(id)) {
    accepted += u.status == storage::UpdateStatus::kAccepted;
    if (u.status == storage::UpdateStatus::kDiscarded) {
      ++discarded;
      CHECK(u.reason == "quorum not reached: 3 of 6 needed usable updates");
    }
  }
  CHECK(accepted == 0);
  CHECK(discarded == 6);  // 3 usable updates in each of the 2 rounds
  CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");

  // At quorum 0.5 the same rounds are aggregated and nothing is discarded.
  const engine::ExperimentConfig half = LogTruthSmallRun(
      dir, {"byzantine_mode=nan", "byzantine_fraction=0.5", "quorum=0.5", "run_name=half"});
  RunSimulation(half, nullptr);
  const int64_t half_id = log.FindRun("half")->id;
  for (const storage::RoundRecord& r : log.Rounds(half_id)) {
    CHECK(r.aggregated);
    CHECK(r.outcome.empty());
    CHECK(r.completed == 3);
  }
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(half_id))
    CHECK(u.status != storage::UpdateStatus::kDiscarded);
}

TEST_CASE("one process owns a run: a second owner is refused by name until the first ends") {
  TempDir dir;
  const engine::ExperimentConfig config = LogTruthSmallRun(dir);
  RunSimulation(config, nullptr);
  MarkInterrupted(config);

  std::optional<storage::RunLease> first = storage::RunLease::TryAcquire(config.db, "truth");
  REQUIRE(first.has_value());
  CHECK(storage::RunLease::IsHeld(config.db, "truth"));
  CHECK_FALSE(storage::RunLease::IsHeld(config.db, "other"));
  const std::string owner = "is being run by pid " + std::to_string(::getpid());
  CHECK_THROWS_WITH_AS(RunSimulation(LogTruthSmallRun(dir, {"rounds=3"}), nullptr),
                       doctest::Contains(owner.c_str()), ConfigError);
  {
    storage::ExperimentLog log(config.db);
    CHECK(log.Rounds(log.FindRun("truth")->id).size() == 2);  // nothing written
  }
  first.reset();
  CHECK_FALSE(storage::RunLease::IsHeld(config.db, "truth"));
  CHECK(RunSimulation(LogTruthSmallRun(dir, {"rounds=3"}), nullptr).last_round == 3);
}

TEST_CASE("a run left running by a dead process is orphaned, then marked so when next opened") {
  TempDir dir;
  const engine::ExperimentConfig config = LogTruthSmallRun(dir);
  {
    // What a process killed right after starting the run leaves behind.
    storage::ExperimentLog log(config.db);
    storage::RunSpec spec;
    spec.name = config.run_name;
    spec.config = engine::ToToml(config);
    spec.strategy = config.strategy;
    spec.model_spec = config.model;
    spec.planned_rounds = config.rounds;
    const int64_t id = log.BeginRun(spec);
    log.SetOwner(id, "pid 999999 on host gone");
  }
  {
    std::unique_ptr<storage::ExperimentLog> reader = storage::OpenLogForReading(config.db);
    const std::vector<storage::RunDetail> runs = storage::ReadRunDetails(*reader, {});
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].summary.run.status == storage::RunStatus::kRunning);
    CHECK(runs[0].owner_lost);
  }
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.first_round == 1);
  CHECK(result.last_round == 2);
  const std::vector<std::string> events = EventTexts(config);
  REQUIRE(events.size() == 2);
  CHECK(events[0] ==
        "owner_lost: pid 999999 on host gone ended without closing the run after round 0");
  CHECK(events[1].starts_with("resumed: by pid "));
  CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");
}

}  // namespace edgefl::sim
