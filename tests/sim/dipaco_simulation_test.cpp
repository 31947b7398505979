// DiPaCo end to end in the simulator, from TOML configs: with one module per
// level it is FedAvgM with Nesterov bit for bit (the routed evaluation
// included); on a 2×2 grid each client moves one path's bytes, the log keeps
// the grid, and a seed gives the same run for any thread count.
#include <fstream>

#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "nn/model.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr const char* kGridKeys = "levels = 2\nmodules = 2\n";
constexpr const char* kDipacoSimulationToml = R"(server_lr = 0.7
server_momentum = 0.9
lr = 0.05
dataset = "fmnist"
partition = "kmeans"
kmeans_clusters = 4
clients = 8
clients_per_round = 8
rounds = 3
train_subset = 2000
test_subset = 500
model = "mlp:784-16-16-10"
batch_size = 32
local_steps = 10
threads = 2
seed = 4
)";

// The config above as `strategy` (dipaco: with its grid keys).
engine::ExperimentConfig DipacoSimulationConfig(const TempDir& dir, const std::string& db,
                                                std::vector<std::string> overrides = {},
                                                const std::string& strategy = "dipaco") {
  const auto path = dir / (strategy + ".toml");
  {
    std::ofstream out(path);
    out << "run_name = \"" << strategy << "\"\nstrategy = \"" << strategy << "\"\n";
    if (strategy == "dipaco") out << kGridKeys;
    out << kDipacoSimulationToml;
  }
  overrides.push_back("db=" + (dir / db).string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

struct DipacoSimulationRun {
  storage::Checkpoint checkpoint;
  std::vector<storage::EvaluationRecord> evals;
  std::vector<storage::ClientUpdateRecord> updates;
};

DipacoSimulationRun Read(const engine::ExperimentConfig& config) {
  storage::ExperimentLog log(config.db);
  const int64_t run = log.FindRun(config.run_name)->id;
  return {*log.LatestCheckpoint(run), log.Evaluations(run), log.ClientUpdates(run)};
}

}  // namespace

TEST_CASE("DiPaCo simulation: one module per level is FedAvgM with Nesterov bit for bit") {
  TempDir dir;
  const engine::ExperimentConfig dipaco =
      DipacoSimulationConfig(dir, "dipaco.db", {"modules=1", "kmeans_clusters=1"});
  const engine::ExperimentConfig plain = DipacoSimulationConfig(
      dir, "fedavgm.db", {"kmeans_clusters=1", "server_nesterov=true"}, "fedavgm");
  RunSimulation(dipaco, nullptr);
  RunSimulation(plain, nullptr);
  const DipacoSimulationRun a = Read(dipaco);
  const DipacoSimulationRun b = Read(plain);
  REQUIRE(a.checkpoint.parameters.size() == b.checkpoint.parameters.size());
  CHECK((a.checkpoint.parameters.array() == b.checkpoint.parameters.array()).all());
  REQUIRE(a.evals.size() == b.evals.size());
  for (size_t i = 0; i < a.evals.size(); ++i) {
    CHECK(a.evals[i].accuracy == b.evals[i].accuracy);
    CHECK(a.evals[i].loss == b.evals[i].loss);
  }
}

TEST_CASE("DiPaCo simulation: a 2x2 grid trains paths of one path's bytes and is seeded") {
  TempDir dir;
  const engine::ExperimentConfig config = DipacoSimulationConfig(dir, "a.db");
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 3);
  const DipacoSimulationRun a = Read(config);
  const auto path = nn::Model(config.model).num_parameters();
  // The log keeps the grid: K = 2 copies of each level.
  CHECK(a.checkpoint.parameters.size() == 2 * path);
  REQUIRE(a.updates.size() == 24);
  for (const storage::ClientUpdateRecord& u : a.updates) {
    CHECK(u.bytes_in == 4 * path);
    CHECK(u.bytes_out == 4 * path);
  }
  REQUIRE(a.evals.size() == 4);
  CHECK(a.evals.back().num_samples == 500);
  CHECK(a.evals.back().accuracy > a.evals.front().accuracy + 0.2);
  // The same seed on one thread: the same grid, bit for bit.
  const engine::ExperimentConfig again = DipacoSimulationConfig(dir, "b.db", {"threads=1"});
  RunSimulation(again, nullptr);
  const DipacoSimulationRun b = Read(again);
  CHECK((a.checkpoint.parameters.array() == b.checkpoint.parameters.array()).all());
  CHECK(a.evals.back().accuracy == b.evals.back().accuracy);
}

}  // namespace edgefl::sim
