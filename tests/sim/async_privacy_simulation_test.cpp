// Privacy in async mode in the simulator (docs/algorithms.md "Privacy in
// async mode"): DP-FedBuff records ε per model version (one server step
// each), stops before dp_target_epsilon and a resumed run continues the
// same ε; FedBuff with secure aggregation runs its buffers as SecAgg+
// cohorts on the virtual clock, learns, tolerates drop-outs in a cohort and
// logs a failed cohort's updates with the reason while the run goes on.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "privacy/rdp_accountant.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

engine::ExperimentConfig AsyncPrivacySimulationConfig(const TempDir& dir, const std::string& name,
                                                      std::vector<std::string> extra) {
  std::vector<std::string> keys = {"mode=async",
                                   "strategy=fedbuff",
                                   "buffer_size=4",
                                   "dataset=synthetic",
                                   "partition=iid",
                                   "model=mlp:60-10",
                                   "clients=8",
                                   "clients_per_round=8",
                                   "local_steps=10",
                                   "batch_size=16",
                                   "lr=0.1",
                                   "speed_spread=4",
                                   "threads=2",
                                   "eval_every=100",
                                   "seed=3",
                                   "run_name=" + name,
                                   "db=" + (dir / "log.db").string()};
  keys.insert(keys.end(), extra.begin(), extra.end());
  return engine::LoadExperimentConfig({}, keys);
}

const std::vector<std::string> kDp = {"dp=true", "dp_noise=seeded", "dp_noise_multiplier=1.5",
                                      "dp_clip=1"};

std::vector<double> Epsilons(const std::string& db, int64_t run) {
  storage::ExperimentLog log(db);
  std::vector<double> out;
  for (const storage::RoundRecord& r : log.Rounds(run))
    out.push_back(r.metrics.at("epsilon"));
  return out;
}

}  // namespace

TEST_CASE(
    "async privacy simulation: DP-FedBuff logs epsilon per server step and stops before the "
    "target") {
  TempDir dir;
  // q = K/N = 4/8, z = 1.5, δ = 1/N: the versions that fit under ε = 4.
  const double target = 4.0;
  privacy::RdpAccountant accountant(0.5, 1.5);
  int64_t fits = 0;
  while (accountant.SpentAfter(fits + 1, 1.0 / 8.0).epsilon <= target)
    ++fits;
  REQUIRE(fits >= 2);
  REQUIRE(fits < 40);
  std::vector<std::string> keys = kDp;
  keys.push_back("rounds=40");
  keys.push_back("dp_target_epsilon=4");
  const SimulationResult result =
      RunSimulation(AsyncPrivacySimulationConfig(dir, "dp", keys), nullptr);
  REQUIRE(result.budget_spent.has_value());
  CHECK(result.budget_spent->find("dp_target_epsilon = 4") != std::string::npos);
  CHECK(result.last_round == fits);

  const std::string db = (dir / "log.db").string();
  const std::vector<double> eps = Epsilons(db, result.run_id);
  REQUIRE(static_cast<int64_t>(eps.size()) == fits);
  for (size_t v = 0; v < eps.size(); ++v) {
    CAPTURE(v);
    CHECK(eps[v] ==
          doctest::Approx(accountant.SpentAfter(static_cast<int64_t>(v + 1), 0.125).epsilon));
    if (v > 0) CHECK(eps[v] > eps[v - 1]);
  }
  CHECK(eps.back() <= target);
  storage::ExperimentLog log(db);
  const storage::RunInfo run = *log.FindRun("dp");
  CHECK(run.status == storage::RunStatus::kCompleted);
  bool event = false;
  for (const storage::RunEvent& e : log.Events(result.run_id))
    event = event || e.kind == "budget_spent";
  CHECK(event);
  // Every version folded exactly the buffer of K, each clipped update counted.
  for (const storage::RoundRecord& r : log.Rounds(result.run_id)) {
    CHECK(r.completed == 4);
    CHECK(r.metrics.at("dp_noise_std") == doctest::Approx(1.5 * 1.0 / 4.0));
  }
}

TEST_CASE("async privacy simulation: a resumed DP-FedBuff run continues epsilon") {
  TempDir dir;
  std::vector<std::string> first = kDp;
  first.push_back("rounds=3");
  const SimulationResult a =
      RunSimulation(AsyncPrivacySimulationConfig(dir, "resume", first), nullptr);
  CHECK(a.last_round == 3);
  {
    // Reopen the completed run as unfinished: rounds may grow on resume
    // only for a run that did not complete, so mark it interrupted.
    storage::ExperimentLog log((dir / "log.db").string());
    log.EndRun(a.run_id, storage::RunStatus::kInterrupted, "test: stopped after version 3");
  }
  std::vector<std::string> second = kDp;
  second.push_back("rounds=6");
  const SimulationResult b =
      RunSimulation(AsyncPrivacySimulationConfig(dir, "resume", second), nullptr);
  CHECK(b.run_id == a.run_id);
  CHECK(b.first_round == 4);
  CHECK(b.last_round == 6);
  const std::vector<double> eps = Epsilons((dir / "log.db").string(), a.run_id);
  REQUIRE(eps.size() == 6);
  privacy::RdpAccountant accountant(0.5, 1.5);
  for (size_t v = 0; v < eps.size(); ++v) {
    CAPTURE(v);
    // Version 4 is the 4th step, not the 1st of a new accountant.
    CHECK(eps[v] ==
          doctest::Approx(accountant.SpentAfter(static_cast<int64_t>(v + 1), 0.125).epsilon));
  }
  CHECK(eps[3] > eps[2]);
}

TEST_CASE("async privacy simulation: FedBuff with secure aggregation and distributed DP learns") {
  TempDir dir;
  std::vector<std::string> keys = kDp;
  keys.insert(keys.end(), {"secure_aggregation=true", "secagg_clip_range=8",
                           "dp_noise_multiplier=0.3", "rounds=30", "eval_every=30"});
  const SimulationResult result =
      RunSimulation(AsyncPrivacySimulationConfig(dir, "secure", keys), nullptr);
  CHECK(result.last_round == 30);
  storage::ExperimentLog log((dir / "log.db").string());
  const std::vector<storage::EvaluationRecord> evals = log.Evaluations(result.run_id);
  REQUIRE(evals.size() == 2);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
  double previous_time = 0.0, previous_eps = 0.0;
  for (const storage::RoundRecord& r : log.Rounds(result.run_id)) {
    CAPTURE(r.round);
    CHECK(r.metrics.count("secagg_k") == 1);
    CHECK(r.metrics.at("secagg_virtual_seconds") > 0.0);  // the stages take clock time
    CHECK(r.metrics.at("epsilon") > previous_eps);
    previous_eps = r.metrics.at("epsilon");
    CHECK(*r.virtual_time > previous_time);
    previous_time = *r.virtual_time;
  }
  // Each accepted row is a cohort member, its stage bytes counted: at
  // least its masked input of d + 1 words (d = 610).
  int64_t accepted = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(result.run_id)) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    ++accepted;
    CHECK(u.bytes_in > 611 * 4);
  }
  CHECK(accepted == 30 * 4);
}

TEST_CASE(
    "async privacy simulation: secure cohorts tolerate drop-outs and a failed cohort is logged") {
  TempDir dir;
  const SimulationResult result = RunSimulation(
      AsyncPrivacySimulationConfig(
          dir, "dropouts", {"secure_aggregation=true", "secagg_stage_dropout=0.12", "rounds=20"}),
      nullptr);
  CHECK(result.last_round == 20);  // the run goes on past failed cohorts
  storage::ExperimentLog log((dir / "log.db").string());
  int64_t tolerated = 0, failed = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(result.run_id)) {
    if (u.status != storage::UpdateStatus::kDropped) continue;
    if (u.reason.find("dropped out during secure aggregation") != std::string::npos) ++tolerated;
    if (u.reason.find("secure aggregation of its cohort failed") != std::string::npos) ++failed;
  }
  CHECK(tolerated > 0);
  CHECK(failed > 0);
  // A version made despite a drop-out folded fewer than K updates.
  bool short_version = false;
  for (const storage::RoundRecord& r : log.Rounds(result.run_id)) {
    if (r.completed < 4) short_version = true;
  }
  CHECK(short_version);
}

TEST_CASE("async privacy simulation: fedasync with dp is refused by name") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(
      RunSimulation(
          AsyncPrivacySimulationConfig(dir, "fa", {"strategy=fedasync", "dp=true", "rounds=2"}),
          nullptr),
      doctest::Contains("strategy fedasync: dp is refused in async mode except with fedbuff"),
      ConfigError);
}

}  // namespace edgefl::sim
