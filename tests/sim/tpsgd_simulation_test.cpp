// tpSGD end to end in the simulator, from a TOML config: fedavg and fedbuff
// over simulated clients that train forward-only; the same seed gives the
// same model.
#include <fstream>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr const char* kTpsgdSimulationToml = R"(run_name = "tpsgd"
strategy = "fedavg"
local_objective = "tpsgd"
layer_loss = "l2"
optimizer = "sgd"
lr = 0.02
dataset = "fmnist"
partition = "dirichlet"
alpha = 0.5
clients = 6
clients_per_round = 6
rounds = 4
train_subset = 3000
test_subset = 1000
model = "mlp:784-64-10"
batch_size = 32
local_steps = 40
threads = 2
seed = 3
)";

engine::ExperimentConfig TpsgdSimulationConfig(const TempDir& dir,
                                               std::vector<std::string> overrides = {}) {
  const auto path = dir / "tpsgd.toml";
  {
    std::ofstream out(path);
    out << kTpsgdSimulationToml;
  }
  overrides.push_back("db=" + (dir / "log.db").string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

}  // namespace

TEST_CASE("tpsgd simulation: fedavg of tpSGD clients learns and repeats bit for bit") {
  TempDir a, b;
  const engine::ExperimentConfig config = TpsgdSimulationConfig(a);
  CHECK(RunSimulation(config, nullptr).last_round == 4);
  storage::ExperimentLog log(config.db);
  const auto evals = log.Evaluations(log.FindRun("tpsgd")->id);
  REQUIRE(evals.size() == 5);
  MESSAGE("accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);

  const engine::ExperimentConfig again = TpsgdSimulationConfig(b);
  RunSimulation(again, nullptr);
  CHECK(storage::test::FinalCheckpoint(again.db, "tpsgd").parameters ==
        storage::test::FinalCheckpoint(config.db, "tpsgd").parameters);

  // l1 layer loss trains another model.
  TempDir c;
  const engine::ExperimentConfig l1 = TpsgdSimulationConfig(c, {"layer_loss=l1"});
  RunSimulation(l1, nullptr);
  CHECK(storage::test::FinalCheckpoint(l1.db, "tpsgd").parameters !=
        storage::test::FinalCheckpoint(config.db, "tpsgd").parameters);
}

TEST_CASE("tpsgd simulation: fedbuff of tpSGD clients learns") {
  TempDir dir;
  const engine::ExperimentConfig config = TpsgdSimulationConfig(
      dir, {"mode=async", "strategy=fedbuff", "buffer_size=3", "rounds=8", "eval_every=4"});
  RunSimulation(config, nullptr);
  storage::ExperimentLog log(config.db);
  const auto evals = log.Evaluations(log.FindRun("tpsgd")->id);
  REQUIRE(evals.size() == 3);
  MESSAGE("accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
}

}  // namespace edgefl::sim
