// Byzantine clients in simulation: 20% of the clients attack; the robust
// aggregation rules keep the accuracy of the clean run, plain FedAvg does
// not, and NaN updates are rejected with a recorded reason.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

// A few rounds on a Fashion-MNIST subset: 10 IID clients, all every round.
SimulationResult ByzantineSimulationRun(const TempDir& dir, const std::string& name,
                                        std::vector<std::string> extra) {
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

const std::vector<std::string> kScaleAttack = {"byzantine_fraction=0.2", "byzantine_mode=scale"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("byzantine simulation: median and trimmed mean stay near clean while FedAvg collapses") {
  TempDir dir;
  const double clean = ByzantineSimulationRun(dir, "clean", {}).final_accuracy;
  REQUIRE(clean > 0.7);
  const double mean = ByzantineSimulationRun(dir, "mean", kScaleAttack).final_accuracy;
  const double median =
      ByzantineSimulationRun(dir, "median", With(kScaleAttack, {"aggregator=median"}))
          .final_accuracy;
  const double trimmed =
      ByzantineSimulationRun(dir, "trimmed",
                             With(kScaleAttack, {"aggregator=trimmed_mean", "trim_fraction=0.2"}))
          .final_accuracy;
  const double clipped =
      ByzantineSimulationRun(dir, "clip", With(kScaleAttack, {"aggregator=norm_clip"}))
          .final_accuracy;
  CAPTURE(clean);
  CAPTURE(mean);
  CAPTURE(median);
  CAPTURE(trimmed);
  CAPTURE(clipped);
  CHECK(mean < clean - 0.3);
  CHECK(median > clean - 0.05);
  CHECK(trimmed > clean - 0.05);
  CHECK(clipped > clean - 0.05);
}

TEST_CASE("byzantine simulation: the same seed picks the same attackers and the same result") {
  TempDir dir;
  const std::vector<std::string> attack = With(kScaleAttack, {"aggregator=median", "rounds=2"});
  const SimulationResult a = ByzantineSimulationRun(dir, "a", attack);
  const SimulationResult b = ByzantineSimulationRun(dir, "b", With(attack, {"threads=1"}));
  CHECK(a.final_accuracy == b.final_accuracy);
}

TEST_CASE("byzantine simulation: NaN updates are rejected with a reason and the rest aggregated") {
  TempDir dir;
  const SimulationResult result = ByzantineSimulationRun(
      dir, "nan-q08", {"byzantine_fraction=0.2", "byzantine_mode=nan", "quorum=0.8"});
  CHECK(result.final_accuracy > 0.7);
  storage::ExperimentLog log(dir / "log.db");
  const auto run = log.FindRun("nan-q08");
  REQUIRE(run.has_value());
  for (const storage::RoundRecord& r : log.Rounds(run->id)) {
    CAPTURE(r.round);
    CHECK(r.rejected == 2);
    CHECK(r.completed == 8);
    CHECK(r.model_version == r.round);
  }
  int rejected = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.status != storage::UpdateStatus::kRejected) continue;
    ++rejected;
    CAPTURE(u.reason);
    CHECK(u.reason.find(u.client_id) != std::string::npos);
    CHECK(u.reason.find("NaN") != std::string::npos);
  }
  CHECK(rejected == 2 * 4);

  // At the default quorum 1 a rejected update leaves the round unaggregated.
  ByzantineSimulationRun(dir, "nan-q1",
                         {"byzantine_fraction=0.2", "byzantine_mode=nan", "rounds=2"});
  const auto strict = log.FindRun("nan-q1");
  REQUIRE(strict.has_value());
  for (const storage::RoundRecord& r : log.Rounds(strict->id))
    CHECK(r.model_version == 0);
}

}  // namespace edgefl::sim
