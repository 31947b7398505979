// convex_relu end to end in the simulator, from config keys: the simulated
// clients run the local ADMM step (algorithms/local_solver.h), the strategy
// the consensus step, and the run's final model is, bit for bit, what the
// same consensus ADMM gives when driven by hand on the same client shares
// (so the simulator adds nothing and loses nothing); the convex model
// learns the synthetic task.
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/convex_relu.h"
#include "algorithms/convex_relu_admm.h"
#include "algorithms/local_solver.h"
#include "datasets/dataset.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "nn/model.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

using edgefl::testing::TempDir;

constexpr int kRounds = 12;
constexpr int kClients = 4;

engine::ExperimentConfig ConvexReluSimulationConfig(const TempDir& dir, const std::string& model,
                                                    double eps = 0.0) {
  std::vector<std::string> settings = {"run_name=convex",
                                       "strategy=convex_relu",
                                       "model=" + model,
                                       "dataset=synthetic",
                                       "partition=iid",
                                       "clients=" + std::to_string(kClients),
                                       "clients_per_round=" + std::to_string(kClients),
                                       "rounds=" + std::to_string(kRounds),
                                       "convex_beta=0.01",
                                       "convex_rho=1",
                                       "convex_inner_iters=3",
                                       "threads=2",
                                       "seed=4",
                                       "db=" + (dir / "log.db").string()};
  if (eps > 0.0) settings.push_back("convex_adversarial_eps=" + std::to_string(eps));
  return engine::LoadExperimentConfig({}, settings);
}

// The consensus ADMM by hand on the simulator's client shares.
Eigen::VectorXf ByHand(const engine::ExperimentConfig& config, double eps = 0.0) {
  const engine::ExperimentData data = engine::LoadExperimentData(config);
  algorithms::ConvexReluOptions options;
  options.beta = 0.01;
  options.rho = 1.0;
  options.inner_iters = 3;
  options.adversarial_eps = eps;
  algorithms::ConvexRelu strategy(config.model, options);
  nn::Model model(config.model);
  model.Initialize(static_cast<uint64_t>(config.seed));
  Eigen::VectorXf global = model.parameters();
  std::vector<datasets::Dataset> shares;
  std::vector<algorithms::ClientInfo> cohort(kClients);
  for (int k = 0; k < kClients; ++k) {
    shares.push_back(datasets::Subset(data.train, data.partition.clients[k]));
    cohort[k].id = "sim-000" + std::to_string(k);
    cohort[k].num_samples = shares.back().size();
  }
  std::vector<std::unique_ptr<algorithms::LocalSolver>> solvers;
  for (int round = 1; round <= kRounds; ++round) {
    const auto instructions = strategy.ConfigureFit(round, cohort);
    std::vector<train::FitResult> results(kClients);
    for (int k = 0; k < kClients; ++k) {
      if (solvers.size() < kClients) {
        solvers.push_back(
            algorithms::MakeLocalSolver(instructions[k].local, config.model, shares[k]));
      }
      results[k].client = cohort[k].id;
      results[k].train = solvers[k]->Solve(
          std::span<const float>(global.data(), static_cast<size_t>(global.size())),
          instructions[k].local);
    }
    global = *strategy.AggregateFit(round, global, results, {}).parameters;
  }
  return global;
}

}  // namespace

TEST_CASE("convex_relu simulation: the run ends at the hand-driven consensus ADMM's model") {
  for (const std::string model : {"gated_relu:60-4-10-4", "convex_relu:60-4-10-4"}) {
    CAPTURE(model);
    TempDir dir;
    const engine::ExperimentConfig config = ConvexReluSimulationConfig(dir, model);
    const SimulationResult result = RunSimulation(config, nullptr);
    CHECK(result.last_round == kRounds);
    storage::ExperimentLog log(config.db);
    const int64_t run = log.FindRun("convex")->id;
    const storage::Checkpoint checkpoint = *log.LatestCheckpoint(run);
    CHECK(checkpoint.round == kRounds);
    const Eigen::VectorXf expected = ByHand(config);
    REQUIRE(checkpoint.parameters.size() == expected.size());
    CHECK((checkpoint.parameters - expected).cwiseAbs().maxCoeff() == 0.0f);
    const auto evals = log.Evaluations(run);
    REQUIRE(evals.size() >= 2);
    MESSAGE("accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
    CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
    for (const auto& r : log.Rounds(run))
      CHECK(r.completed == kClients);
  }
}

// The robust (ℓ∞) program through the same path: convex_adversarial_eps
// reaches the simulated clients as the local solver's eps.
TEST_CASE("convex_relu simulation: the adversarial run ends at the hand-driven robust model") {
  const double eps = 0.05;
  TempDir dir;
  const engine::ExperimentConfig config =
      ConvexReluSimulationConfig(dir, "convex_relu:60-2-10-4", eps);
  const SimulationResult result = RunSimulation(config, nullptr);
  CHECK(result.last_round == kRounds);
  storage::ExperimentLog log(config.db);
  const int64_t run = log.FindRun("convex")->id;
  const storage::Checkpoint checkpoint = *log.LatestCheckpoint(run);
  const Eigen::VectorXf expected = ByHand(config, eps);
  REQUIRE(checkpoint.parameters.size() == expected.size());
  CHECK((checkpoint.parameters - expected).cwiseAbs().maxCoeff() == 0.0f);
  // It differs from the standard run's model.
  CHECK((ByHand(config, 0.0) - expected).cwiseAbs().maxCoeff() > 1e-4f);
  const auto evals = log.Evaluations(run);
  REQUIRE(evals.size() >= 2);
  MESSAGE("robust accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
}

}  // namespace edgefl::sim
