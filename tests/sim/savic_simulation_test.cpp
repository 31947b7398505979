// SAVIC end to end in the simulator, from a TOML config: the shared scaling
// is made by the server, reaches the simulated clients, lives in the
// checkpoint, and a resumed run ends at the uninterrupted run's model.
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

constexpr const char* kSavicSimulationToml = R"(run_name = "savic"
strategy = "savic"
optimizer = "sgd"
lr = 0.001
savic_estimator = "adam"
savic_beta = 0.9
savic_eps = 1e-3
dataset = "fmnist"
partition = "dirichlet"
alpha = 0.5
clients = 6
clients_per_round = 4
rounds = 4
train_subset = 3000
test_subset = 1000
model = "mlp:784-32-10"
batch_size = 32
local_steps = 10
threads = 2
seed = 3
)";

engine::ExperimentConfig SavicSimulationConfig(const TempDir& dir,
                                               std::vector<std::string> overrides = {}) {
  const auto path = dir / "savic.toml";
  {
    std::ofstream out(path);
    out << kSavicSimulationToml;
  }
  overrides.push_back("db=" + (dir / "log.db").string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

}  // namespace

TEST_CASE("SAVIC simulation: a TOML config trains and checkpoints D and D̂") {
  TempDir dir;
  const engine::ExperimentConfig config = SavicSimulationConfig(dir);
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 4);

  storage::ExperimentLog log(config.db);
  const int64_t run = log.FindRun("savic")->id;
  const auto evals = log.Evaluations(run);
  REQUIRE(evals.size() == 5);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
  const storage::Checkpoint checkpoint = *log.LatestCheckpoint(run);
  const Eigen::Index n = checkpoint.parameters.size();
  // [has_D, n div 2^24, n mod 2^24, D, D̂] (server optimizer none: no more).
  REQUIRE(checkpoint.strategy_state.size() == 3 + 2 * n);
  CHECK(checkpoint.strategy_state[0] == 1.0f);
  CHECK(checkpoint.strategy_state[2] == static_cast<float>(n));
  const Eigen::VectorXf d_hat = checkpoint.strategy_state.tail(n);
  CHECK(d_hat.minCoeff() >= 1e-3f);
  CHECK(d_hat.maxCoeff() > 2e-3f);  // made from gradients, not the floor alone
}

TEST_CASE("SAVIC simulation: an interrupted run resumes to the same model") {
  TempDir straight, resumed;
  RunSimulation(SavicSimulationConfig(straight), nullptr);
  const engine::ExperimentConfig half = SavicSimulationConfig(resumed, {"rounds=2"});
  RunSimulation(half, nullptr);
  {
    storage::ExperimentLog log(half.db);
    log.EndRun(log.FindRun("savic")->id, storage::RunStatus::kInterrupted, "test");
  }
  const SimulationResult result = RunSimulation(SavicSimulationConfig(resumed), nullptr);
  CHECK(result.first_round == 3);
  CHECK(storage::test::FinalCheckpoint(half.db, "savic").parameters ==
        storage::test::FinalCheckpoint((straight / "log.db").string(), "savic").parameters);
}

}  // namespace edgefl::sim
