// keep_client_models in the simulator: the engine's accepted local models
// of the newest N rounds, at most M per round, go into the log with their
// round; off by default. With every client of a FedAvg round kept, their
// sample-weighted mean is that round's global model.
#include <fstream>
#include <map>
#include <set>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr const char* kKeepClientModelsToml = R"(run_name = "keep"
strategy = "fedavg"
dataset = "fmnist"
partition = "iid"
clients = 5
clients_per_round = 4
rounds = 4
train_subset = 1000
test_subset = 200
model = "mlp:784-16-10"
batch_size = 32
local_steps = 3
lr = 0.05
threads = 2
seed = 4
)";

engine::ExperimentConfig KeepClientModelsConfig(const TempDir& dir,
                                                std::vector<std::string> overrides) {
  const auto path = dir / "keep.toml";
  {
    std::ofstream out(path);
    out << kKeepClientModelsToml;
  }
  overrides.push_back("db=" + (dir / "log.db").string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

TEST_CASE("keep_client_models stores exactly the bounded set of local models") {
  TempDir dir;
  RunSimulation(KeepClientModelsConfig(dir, {"keep_client_models=2", "client_models_per_round=3"}),
                nullptr);
  storage::ExperimentLog log(dir / "log.db");
  const int64_t run = log.FindRun("keep")->id;
  CHECK(log.ClientModelRounds(run) == std::vector<int64_t>{3, 4});
  std::map<int64_t, std::set<std::string>> accepted;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run)) {
    if (u.status == storage::UpdateStatus::kAccepted) accepted[u.round].insert(u.client_id);
  }
  for (int64_t round : {3, 4}) {
    CAPTURE(round);
    const std::vector<storage::ClientModel> models = log.ReadClientModels(run, round);
    CHECK(models.size() == 3);
    for (const storage::ClientModel& m : models) {
      CHECK(accepted[round].count(m.client_id) == 1);
      CHECK(m.spec == "mlp:784-16-10");
      CHECK(m.parameters.size() == 784 * 16 + 16 + 16 * 10 + 10);
    }
  }
}

TEST_CASE("the kept local models of a whole FedAvg round average to its global model") {
  TempDir dir;
  RunSimulation(KeepClientModelsConfig(dir, {"keep_client_models=1", "client_models_per_round=10"}),
                nullptr);
  storage::ExperimentLog log(dir / "log.db");
  const int64_t run = log.FindRun("keep")->id;
  REQUIRE(log.ClientModelRounds(run) == std::vector<int64_t>{4});
  const std::vector<storage::ClientModel> models = log.ReadClientModels(run, 4);
  REQUIRE(models.size() == 4);  // the whole cohort
  std::map<std::string, double> weight;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run)) {
    if (u.round == 4) weight[u.client_id] = static_cast<double>(u.num_samples);
  }
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(models[0].parameters.size());
  double total = 0.0;
  for (const storage::ClientModel& m : models) {
    mean += weight.at(m.client_id) * m.parameters.cast<double>();
    total += weight.at(m.client_id);
  }
  mean /= total;
  const Eigen::VectorXf global = log.ReadCheckpoint(run, 4)->parameters;
  CHECK((mean - global.cast<double>()).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("no client model is stored by default and async runs refuse the key") {
  TempDir dir;
  RunSimulation(KeepClientModelsConfig(dir, {"rounds=1"}), nullptr);
  storage::ExperimentLog log(dir / "log.db");
  CHECK(log.ClientModelRounds(log.FindRun("keep")->id).empty());
  CHECK_THROWS_WITH_AS(
      KeepClientModelsConfig(dir, {"mode=async", "strategy=fedasync", "keep_client_models=1"}),
      doctest::Contains("keep_client_models is for sync runs"), ConfigError);
}

}  // namespace
}  // namespace edgefl::sim
