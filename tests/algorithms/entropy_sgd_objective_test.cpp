#include "algorithms/entropy_sgd_objective.h"

#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

constexpr const char* kSpec = "mlp:60-16-10";

}  // namespace

TEST_CASE("Entropy-SGD with no Langevin steps equals plain SGD bit for bit") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kSpec);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.nesterov = true;
  train::LocalTrainer plain(kSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);
  EntropySgdOptions options;
  options.langevin_steps = 0;
  EntropySgdObjective objective(options);
  train::LocalTrainer trainer(kSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &objective);
  CHECK(result.parameters == expected.parameters);
}

TEST_CASE("Entropy-SGD one noiseless Langevin step gives a scaled gradient") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kSpec);
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
  nn::Model model(kSpec);
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

TEST_CASE("Entropy-SGD scope grows with the steps") {
  EntropySgdOptions options;
  options.scope_offset = 1000;
  EntropySgdObjective objective(options);
  CHECK(objective.scope() == doctest::Approx(0.01 * std::pow(1.001, 1000)));
  options.langevin_lr = 0.0;
  CHECK_THROWS_WITH_AS(EntropySgdObjective{options}, doctest::Contains("entropy_sgd: langevin_lr"),
                       ConfigError);
}

TEST_CASE("Entropy-SGD trains in the LocalTrainer") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kSpec);
  EntropySgdOptions options;
  options.langevin_steps = 5;
  EntropySgdObjective objective(options);
  train::LocalTrainer trainer(kSpec, data);
  train::TrainRecipe recipe = testing::SgdRecipe(1.0f, 3);  // G is about (1 − β1)η'·∇f
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.nesterov = true;
  const auto result = trainer.Train(testing::Span(global), recipe, &objective);
  CHECK(result.loss_after < result.loss_before - 0.1);
  CHECK(objective.steps() == result.steps);
}

}  // namespace edgefl::algorithms
