#include "algorithms/entropy_sgd_objective.h"

#include <cmath>

#include <doctest/doctest.h>

#include "algorithms/fedavg.h"
#include "algorithms/local_registry.h"
#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kEntropySgdObjectiveSpec = "mlp:60-16-10";

// Forwards to an Entropy-SGD objective and notes the scope of the round's
// first step, as the trainer drives it.
class FirstScope final : public train::LocalObjective {
 public:
  explicit FirstScope(EntropySgdObjective& inner) : inner_(inner) {}
  void SetStepOffset(int64_t step_offset) override { inner_.SetStepOffset(step_offset); }
  void BeginRound(const nn::Model& model, Rng& rng) override { inner_.BeginRound(model, rng); }
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override {
    if (inner_.steps() == 0) first = inner_.scope();
    return inner_.LossAndGradient(model, batch, rng);
  }
  double first = -1.0;

 private:
  EntropySgdObjective& inner_;
};

}  // namespace

TEST_CASE("Entropy-SGD with no Langevin steps equals plain SGD bit for bit") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kEntropySgdObjectiveSpec);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.nesterov = true;
  train::LocalTrainer plain(kEntropySgdObjectiveSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);
  EntropySgdOptions options;
  options.langevin_steps = 0;
  EntropySgdObjective objective(options);
  train::LocalTrainer trainer(kEntropySgdObjectiveSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &objective);
  CHECK(result.parameters == expected.parameters);
}

TEST_CASE("Entropy-SGD one noiseless Langevin step gives a scaled gradient") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kEntropySgdObjectiveSpec);
  model.Initialize(2);
  const testing::FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  const Eigen::VectorXf w = model.parameters();
  model.LossAndGradient(batch.x, batch.labels);
  const Eigen::VectorXf gradient = model.gradients();
  EntropySgdOptions options;
  options.langevin_steps = 1;
  options.noise = 0.0;
  EntropySgdObjective objective(options);
  Rng rng(1);
  objective.BeginRound(model, rng);
  objective.LossAndGradient(model, batch, rng);
  CHECK(model.parameters() == w);  // x restored exactly
  // x' = x − η'∇f(x), μ = β1·x + (1 − β1)·x', G = x − μ = (1 − β1)·η'·∇f(x).
  const Eigen::VectorXf expected = (0.25f * 0.1f) * gradient;
  CHECK((model.gradients() - expected).norm() <= 1e-6f * (1.0f + expected.norm()));
}

TEST_CASE("Entropy-SGD with a huge scope keeps x prime at x and G near zero") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kEntropySgdObjectiveSpec);
  model.Initialize(2);
  const testing::FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  model.LossAndGradient(batch.x, batch.labels);
  const float gradient_norm = model.gradients().norm();
  double previous = 1e30;
  for (const double gamma : {1e1, 1e2, 1e4}) {
    EntropySgdOptions options;
    options.noise = 0.0;
    options.gamma0 = gamma;
    options.gamma1 = 0.0;
    options.langevin_lr = 1.0 / gamma;  // η'·γ = 1 keeps the inner loop stable
    EntropySgdObjective objective(options);
    Rng rng(1);
    objective.BeginRound(model, rng);
    objective.LossAndGradient(model, batch, rng);
    const double g = model.gradients().norm();
    CHECK(g < previous);
    previous = g;
  }
  CHECK(previous < 1e-3 * gradient_norm);
}

TEST_CASE("Entropy-SGD scope starts at the step offset") {
  EntropySgdOptions options;
  EntropySgdObjective objective(options);
  objective.SetStepOffset(1000);
  nn::Model model(kEntropySgdObjectiveSpec);
  Rng rng(1);
  objective.BeginRound(model, rng);
  CHECK(objective.scope() == doctest::Approx(0.01 * std::pow(1.001, 1000)));
  CHECK_THROWS_WITH_AS(objective.SetStepOffset(-1), doctest::Contains("entropy_sgd: step_offset"),
                       ConfigError);
  options.langevin_lr = 0.0;
  CHECK_THROWS_WITH_AS(EntropySgdObjective{options}, doctest::Contains("entropy_sgd: langevin_lr"),
                       ConfigError);
}

TEST_CASE(
    "Entropy-SGD scope goes on across rounds: round r starts at gamma0 (1+gamma1)^steps before r") {
  const datasets::Dataset data = testing::Tabular();
  FedAvgOptions options;
  options.recipe = testing::SgdRecipe(0.5f);
  options.recipe.local_steps = 7;
  options.local.objective = "entropy_sgd";
  options.local.params = {{"langevin_steps", 1.0}, {"gamma0", 0.01}, {"gamma1", 0.05}};
  FedAvg fedavg(options);
  ClientInfo client;
  client.id = "sim-0";
  client.num_samples = data.size();
  train::LocalTrainer trainer(kEntropySgdObjectiveSpec, data);  // one client across rounds
  Eigen::VectorXf global = testing::InitialParameters(kEntropySgdObjectiveSpec);
  for (int64_t round = 1; round <= 3; ++round) {
    CAPTURE(round);
    const train::FitInstructions fit =
        fedavg.ConfigureFit(round, std::span<const ClientInfo>(&client, 1)).at(0);
    // The client rebuilds the objective every round, as the simulated and
    // real clients do.
    std::unique_ptr<train::LocalObjective> built = MakeLocalObjective(fit.local, &data);
    auto& entropy = dynamic_cast<EntropySgdObjective&>(*built);
    FirstScope probe(entropy);
    global = trainer.Train(testing::Span(global), fit.recipe, &probe).parameters;
    const double before = static_cast<double>((round - 1) * 7);
    CHECK(probe.first == doctest::Approx(0.01 * std::pow(1.05, before)).epsilon(1e-12));
    CHECK(entropy.steps() == 7);
    CHECK(entropy.scope() == doctest::Approx(0.01 * std::pow(1.05, before + 7)).epsilon(1e-12));
  }
}

TEST_CASE("Entropy-SGD trains in the LocalTrainer") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kEntropySgdObjectiveSpec);
  EntropySgdOptions options;
  options.langevin_steps = 5;
  EntropySgdObjective objective(options);
  train::LocalTrainer trainer(kEntropySgdObjectiveSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(1.0f, 3);  // G is about (1 − β1)η'·∇f
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.nesterov = true;
  const auto result = trainer.Train(testing::Span(global), recipe, &objective);
  CHECK(result.loss_after < result.loss_before - 0.1);
  CHECK(objective.steps() == result.steps);
}

}  // namespace edgefl::algorithms
