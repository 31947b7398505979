// Bucketing and centered clipping in simulation: under 20% ×100 attackers
// they stay near the clean run, and NaN senders are rejected by the round
// engine before centered clipping (which refuses non-finite input) sees
// them. Multi-Krum leaves the sign-flipping attackers out of every round,
// and the log says so; nearest-neighbour mixing before the median holds
// against them as well.
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"
#include "train/byzantine.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

// A few rounds on a Fashion-MNIST subset: 10 IID clients, all every round.
SimulationResult RobustAggregationSimulationRun(const TempDir& dir, const std::string& name,
                                                const std::vector<std::string>& extra) {
  std::vector<std::string> overrides = {"rounds=4",
                                        "clients=10",
                                        "clients_per_round=10",
                                        "train_subset=4000",
                                        "test_subset=1000",
                                        "partition=iid",
                                        "model=mlp:784-32-10",
                                        "lr=0.05",
                                        "momentum=0.9",
                                        "batch_size=32",
                                        "threads=2",
                                        "db=" + (dir / "log.db").string(),
                                        "run_name=" + name};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return RunSimulation(edgefl::testing::LoadTestConfig({}, overrides), nullptr);
}

}  // namespace

TEST_CASE("robust simulation: centered clipping and bucketed median withstand x100 attackers") {
  TempDir dir;
  const double clean = RobustAggregationSimulationRun(dir, "clean", {}).final_accuracy;
  REQUIRE(clean > 0.7);
  const std::vector<std::string> scale = {"byzantine_fraction=0.2", "byzantine_mode=scale"};
  auto with = [&](std::vector<std::string> rule) {
    rule.insert(rule.end(), scale.begin(), scale.end());
    return rule;
  };
  const double cc =
      RobustAggregationSimulationRun(dir, "cc", with({"aggregator=centered_clip", "cc_tau=1"}))
          .final_accuracy;
  const double bucket_cc =
      RobustAggregationSimulationRun(
          dir, "bucket-cc", with({"aggregator=centered_clip", "cc_tau=1", "bucket_size=2"}))
          .final_accuracy;
  const double bucket_median =
      RobustAggregationSimulationRun(dir, "bucket-median",
                                     with({"aggregator=median", "bucket_size=2"}))
          .final_accuracy;
  CAPTURE(clean);
  CAPTURE(cc);
  CAPTURE(bucket_cc);
  CAPTURE(bucket_median);
  CHECK(cc > clean - 0.05);
  CHECK(bucket_cc > clean - 0.05);
  CHECK(bucket_median > clean - 0.05);
}

TEST_CASE("robust simulation: NaN updates are rejected before centered clipping sees them") {
  TempDir dir;
  const SimulationResult result =
      RobustAggregationSimulationRun(dir, "nan-cc",
                                     {"byzantine_fraction=0.2", "byzantine_mode=nan", "quorum=0.8",
                                      "aggregator=centered_clip", "cc_tau=1", "bucket_size=2"});
  CHECK(result.final_accuracy > 0.7);
  storage::ExperimentLog log(dir / "log.db");
  const auto run = log.FindRun("nan-cc");
  REQUIRE(run.has_value());
  for (const storage::RoundRecord& r : log.Rounds(run->id)) {
    CAPTURE(r.round);
    CHECK(r.aggregated);
    CHECK(r.rejected == 2);
    CHECK(r.completed == 8);
  }
}

TEST_CASE("robust simulation: multi_krum and nnm withstand sign-flipping attackers") {
  TempDir dir;
  const double clean = RobustAggregationSimulationRun(dir, "clean", {}).final_accuracy;
  // Nearest-neighbour mixing before the median withstands them too.
  const double nnm_median =
      RobustAggregationSimulationRun(dir, "nnm-median",
                                     {"byzantine_fraction=0.2", "byzantine_mode=sign_flip",
                                      "aggregator=median", "nnm_byzantine=2", "seed=5"})
          .final_accuracy;
  CAPTURE(nnm_median);
  CHECK(nnm_median > clean - 0.05);
  const SimulationResult result =
      RobustAggregationSimulationRun(dir, "krum",
                                     {"byzantine_fraction=0.2", "byzantine_mode=sign_flip",
                                      "aggregator=multi_krum", "krum_byzantine=2", "seed=5"});
  CAPTURE(clean);
  CHECK(result.final_accuracy > clean - 0.05);
  // The attackers the simulator picks for seed 5.
  const std::vector<bool> byzantine = train::ChooseByzantineClients(10, 0.2, 5);
  std::set<std::string> attackers;
  for (size_t k = 0; k < byzantine.size(); ++k) {
    if (byzantine[k]) attackers.insert("sim-000" + std::to_string(k));
  }
  REQUIRE(attackers.size() == 2);
  storage::ExperimentLog log(dir / "log.db");
  const auto run = log.FindRun("krum");
  REQUIRE(run.has_value());
  std::set<std::pair<int64_t, std::string>> rejected;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.status != storage::UpdateStatus::kRejected) continue;
    CHECK(u.reason.find("multi_krum") != std::string::npos);
    rejected.insert({u.round, u.client_id});
  }
  std::set<std::pair<int64_t, std::string>> want;
  for (int64_t round = 1; round <= 4; ++round) {
    for (const std::string& id : attackers)
      want.insert({round, id});
  }
  CHECK(rejected == want);
  for (const storage::RoundRecord& r : log.Rounds(run->id)) {
    CAPTURE(r.round);
    CHECK(r.aggregated);
    CHECK(r.rejected == 2);
  }
}

}  // namespace edgefl::sim
