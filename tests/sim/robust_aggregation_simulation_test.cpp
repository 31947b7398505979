// Bucketing and centered clipping in simulation: under 20% ×100 attackers
// they stay near the clean run, and NaN senders are rejected by the round
// engine before centered clipping (which refuses non-finite input) sees
// them.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

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
  return RunSimulation(engine::LoadExperimentConfig({}, overrides), nullptr);
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

}  // namespace edgefl::sim
