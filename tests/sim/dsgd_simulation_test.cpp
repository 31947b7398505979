// D-SGD in the simulator: the complete graph with one local step is FedAvg
// bit for bit (both trained by the same simulated clients), and `edgefl sim`
// with mode = "decentralized" logs the per-round metrics (average-model and
// mean node accuracy, consensus distance, bytes per node), is bit-identical
// for a seed whatever the thread count, and goes on when nodes drop out.
#include <cmath>
#include <fstream>
#include <numeric>

#include <doctest/doctest.h>

#include "algorithms/dsgd.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "datasets/synthetic.h"
#include "engine/experiment_config.h"
#include "engine/round_engine.h"
#include "nn/model.h"
#include "sim/simulated_client_proxy.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

// Every candidate, in the order given: FedAvg then sums its results in node
// order, as the D-SGD row of the complete graph does.
class InOrderSelector final : public algorithms::ClientSelector {
 public:
  std::string name() const override { return "in_order"; }
  std::vector<size_t> Select(int64_t, std::span<const algorithms::ClientInfo> candidates, size_t k,
                             Rng&) override {
    std::vector<size_t> all(std::min(k, candidates.size()));
    std::iota(all.begin(), all.end(), size_t{0});
    return all;
  }
};

constexpr const char* kDsgdSimulationToml = R"(run_name = "dsgd"
strategy = "dsgd"
mode = "decentralized"
topology = "ring"
dataset = "fmnist"
partition = "dirichlet"
alpha = 0.5
clients = 6
clients_per_round = 6
rounds = 4
train_subset = 1200
test_subset = 300
model = "mlp:784-16-10"
batch_size = 16
local_steps = 5
lr = 0.05
seed = 2
)";

engine::ExperimentConfig DsgdSimulationConfig(const TempDir& dir,
                                              std::vector<std::string> overrides = {}) {
  const auto path = dir / "dsgd.toml";
  {
    std::ofstream out(path);
    out << kDsgdSimulationToml;
  }
  overrides.push_back("db=" + (dir / "log.db").string());
  return edgefl::testing::LoadTestConfig(path, overrides);
}

}  // namespace

TEST_CASE("D-SGD on the complete graph with one local step equals FedAvg bit for bit") {
  datasets::SyntheticOptions synthetic;
  synthetic.num_clients = 1;
  synthetic.max_samples_per_client = 400;
  const datasets::Dataset data = datasets::GenerateSynthetic(synthetic).train;
  const size_t n = 5;
  const std::string spec = "mlp:60-16-10";
  ThreadPool pool(2);
  std::vector<std::unique_ptr<SimulatedClientProxy>> proxies;
  std::vector<engine::ClientProxy*> clients;
  for (size_t k = 0; k < n; ++k) {
    std::vector<uint32_t> rows(40);  // equal shares: FedAvg's p_k is exactly 1/n
    std::iota(rows.begin(), rows.end(), static_cast<uint32_t>(40 * k));
    proxies.push_back(std::make_unique<SimulatedClientProxy>(
        "sim-" + std::to_string(k), datasets::Subset(data, rows), spec, pool));
    clients.push_back(proxies.back().get());
  }
  nn::Model model(spec);
  model.Initialize(4);

  algorithms::StrategyConfig config;
  config.name = "fedavg";
  config.recipe.local_steps = 1;
  config.recipe.batch_size = 8;
  config.recipe.optimizer.learning_rate = 0.1f;
  config.seed = 17;
  auto fedavg = algorithms::MakeStrategy(config);
  InOrderSelector selector;
  engine::RoundOptions options;
  options.clients_per_round = n;
  options.seed = 17;
  engine::RoundEngine engine(*fedavg, selector, options, model.parameters());

  algorithms::DsgdOptions dsgd_options;
  dsgd_options.topology.kind = algorithms::TopologyKind::kComplete;
  dsgd_options.recipe = config.recipe;
  dsgd_options.seed = config.seed;
  const algorithms::Dsgd dsgd(dsgd_options, n);
  std::vector<Eigen::VectorXf> models(n, model.parameters());
  const std::vector<bool> live(n, true);

  for (int64_t round = 1; round <= 3; ++round) {
    REQUIRE(engine.RunRound(round, clients).model_updated);
    std::vector<Eigen::VectorXf> trained(n);
    for (size_t k = 0; k < n; ++k) {
      trained[k] = clients[k]
                       ->Fit(std::make_shared<const Eigen::VectorXf>(models[k]),
                             dsgd.Instructions(round, clients[k]->info()))
                       .get()
                       .train.parameters;
    }
    models = dsgd.Step(round, models, trained, live);
    for (size_t k = 0; k < n; ++k)
      CHECK(models[k] == engine.global());
  }
  CHECK(models[0] != model.parameters());
}

TEST_CASE("D-SGD simulation: logs average and node accuracy - consensus - bytes per node") {
  TempDir dir;
  const engine::ExperimentConfig config = DsgdSimulationConfig(dir);
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 4);
  CHECK(result.virtual_seconds > 0.0);

  storage::ExperimentLog log(config.db);
  const storage::RunInfo run = *log.FindRun("dsgd");
  CHECK(run.spec.mode == "decentralized");
  CHECK(run.status == storage::RunStatus::kCompleted);
  std::map<std::string, std::vector<storage::EvaluationRecord>> by_split;
  for (const storage::EvaluationRecord& e : log.Evaluations(run.id))
    by_split[e.split].push_back(e);
  REQUIRE(by_split["test"].size() == 5);  // rounds 0..4
  REQUIRE(by_split["node_mean"].size() == 5);
  REQUIRE(by_split["consensus"].size() == 5);
  // All nodes start at the same model: consensus 0, and the node mean is the
  // average's accuracy.
  CHECK(by_split["consensus"][0].loss == 0.0);
  CHECK(by_split["node_mean"][0].accuracy == doctest::Approx(by_split["test"][0].accuracy));
  // Non-IID local steps pull the nodes apart; the ring pulls them together.
  CHECK(by_split["consensus"][4].loss > 0.0);
  CHECK(by_split["test"][4].accuracy > by_split["test"][0].accuracy + 0.2);
  CHECK(result.final_accuracy == by_split["test"][4].accuracy);

  // Bytes per node: a ring node sends its model to 2 neighbours and gets 2.
  const int64_t model_bytes = 4 * nn::Model(config.model).num_parameters();
  const auto updates = log.ClientUpdates(run.id);
  REQUIRE(updates.size() == 6 * 4);
  for (const storage::ClientUpdateRecord& u : updates) {
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    CHECK(u.bytes_out == 2 * model_bytes);
    CHECK(u.bytes_in == 2 * model_bytes);
    CHECK(u.local_steps == 5);
  }
  const auto rounds = log.Rounds(run.id);
  REQUIRE(rounds.size() == 4);
  CHECK(rounds[3].completed == 6);
  CHECK(*rounds[3].virtual_time > *rounds[0].virtual_time);
}

TEST_CASE("D-SGD simulation: bit-identical for a seed whatever the thread count") {
  TempDir a, b;
  const engine::ExperimentConfig one = DsgdSimulationConfig(a, {"threads=1"});
  const engine::ExperimentConfig two =
      DsgdSimulationConfig(b, {"threads=2", "topology=\"exponential\""});
  const engine::ExperimentConfig two_ring =
      DsgdSimulationConfig(a, {"threads=2", "run_name=\"again\""});
  RunSimulation(one, nullptr);
  RunSimulation(two_ring, nullptr);
  storage::ExperimentLog log(one.db);
  const auto first = *log.LatestCheckpoint(log.FindRun("dsgd")->id);
  const auto second = *log.LatestCheckpoint(log.FindRun("again")->id);
  CHECK(first.parameters == second.parameters);
  // Another topology is another run.
  RunSimulation(two, nullptr);
  storage::ExperimentLog other(two.db);
  CHECK(other.LatestCheckpoint(other.FindRun("dsgd")->id)->parameters != first.parameters);
  // Not resumable: the same run_name again is refused.
  CHECK_THROWS_WITH_AS(RunSimulation(one, nullptr), doctest::Contains("choose another run_name"),
                       ConfigError);
}

TEST_CASE("D-SGD simulation: nodes that drop out are re-weighted around and training goes on") {
  TempDir dir;
  const engine::ExperimentConfig config = DsgdSimulationConfig(dir, {"dropout=0.4", "rounds=5"});
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == 5);
  storage::ExperimentLog log(config.db);
  const storage::RunInfo run = *log.FindRun("dsgd");
  int64_t dropped = 0;
  for (const storage::RoundRecord& r : log.Rounds(run.id))
    dropped += r.dropped;
  CHECK(dropped > 0);
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run.id)) {
    if (u.status == storage::UpdateStatus::kDropped) {
      CHECK(u.reason == "dropped out");
      CHECK(u.bytes_out == 0);
    }
  }
  CHECK(result.final_accuracy > 0.3);
}

TEST_CASE("D-SGD simulation: a server strategy in decentralized mode is refused") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(RunSimulation(DsgdSimulationConfig(dir, {"strategy=\"fedavg\""}), nullptr),
                       doctest::Contains("the decentralized strategy is dsgd"), ConfigError);
  CHECK_THROWS_WITH_AS(RunSimulation(DsgdSimulationConfig(dir, {"mode=\"sync\""}), nullptr),
                       doctest::Contains("set mode = \"decentralized\""), ConfigError);
}

}  // namespace edgefl::sim
