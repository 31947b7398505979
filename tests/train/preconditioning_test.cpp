// The client side of SAVIC: a frozen diagonal D scales every local step
// (x <- x - lr * D^-1 g), and the statistic the server asked for is
// measured at the received model.
#include "train/preconditioning.h"

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/synthetic.h"
#include "nn/batch.h"
#include "train/local_trainer.h"

namespace edgefl::train {
namespace {

constexpr const char* kSpec = "mlp:60-16-10";

// synthetic(1,1) pooled: 60 features, 10 classes.
datasets::Dataset PreconditioningTabular() {
  datasets::SyntheticOptions options;
  options.num_clients = 3;
  options.max_samples_per_client = 120;
  return datasets::GenerateSynthetic(options).train;
}

Eigen::VectorXf Initial() {
  nn::Model model(kSpec);
  model.Initialize(11);
  return model.parameters();
}

std::span<const float> PreconditioningSpan(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

TrainRecipe Sgd(float lr, int64_t steps, int batch) {
  TrainRecipe recipe;
  recipe.optimizer.name = "sgd";
  recipe.optimizer.learning_rate = lr;
  recipe.local_steps = steps;
  recipe.batch_size = batch;
  recipe.measure_loss = false;
  recipe.seed = 5;
  return recipe;
}

Preconditioning With(Eigen::VectorXf diagonal, ScalingStatistic statistic) {
  Preconditioning p;
  p.diagonal = std::make_shared<const Eigen::VectorXf>(std::move(diagonal));
  p.statistic = statistic;
  return p;
}

}  // namespace

TEST_CASE("Preconditioning: D = 1 gives plain local SGD bit for bit, statistic or not") {
  const datasets::Dataset data = PreconditioningTabular();
  const Eigen::VectorXf global = Initial();
  for (const float momentum : {0.0f, 0.9f}) {
    CAPTURE(momentum);
    TrainRecipe recipe = Sgd(0.1f, 25, 16);
    recipe.optimizer.momentum = momentum;
    LocalTrainer plain(kSpec, data), scaled(kSpec, data);
    const LocalTrainResult a = plain.Train(PreconditioningSpan(global), recipe);
    const Preconditioning ones =
        With(Eigen::VectorXf::Ones(global.size()), ScalingStatistic::kGradient);
    const LocalTrainResult b =
        scaled.Train(PreconditioningSpan(global), recipe, nullptr, nullptr, &ones);
    CHECK(a.parameters != global);
    CHECK(b.parameters == a.parameters);  // Eigen's == is exact, element by element
    CHECK(a.scaling_statistic.size() == 0);
    CHECK(b.scaling_statistic.size() == global.size());
  }
}

TEST_CASE("Preconditioning: one full-batch step is x - lr * g / D") {
  const datasets::Dataset data = PreconditioningTabular();
  const Eigen::VectorXf global = Initial();
  // The full-batch gradient at x, summed in data order (sequential order).
  nn::Model model(kSpec);
  model.SetParameters(PreconditioningSpan(global));
  model.LossAndGradient(nn::ColumnBlock(data.features, 0, data.features.rows()), data.labels);
  const Eigen::VectorXf g = model.gradients();

  Eigen::VectorXf d(global.size());
  for (Eigen::Index i = 0; i < d.size(); ++i)
    d[i] = 0.25f + static_cast<float>(i % 7);
  const Preconditioning p = With(d, ScalingStatistic::kGradient);
  SequentialOrder order;
  LocalTrainer trainer(kSpec, data);
  const LocalTrainResult r =
      trainer.Train(PreconditioningSpan(global), Sgd(0.5f, 1, static_cast<int>(data.size())),
                    nullptr, &order, &p);

  const Eigen::VectorXf expected = global - 0.5f * g.cwiseQuotient(d);
  CHECK((r.parameters - expected).cwiseAbs().maxCoeff() <= 1e-6f);
  // Coordinates with a larger D moved less: the step is D^-1 g, not g.
  CHECK((r.parameters - global).cwiseAbs().maxCoeff() > 0.0f);
  // The statistic is the (unscaled) gradient at the received model.
  CHECK((r.scaling_statistic - g).cwiseAbs().maxCoeff() <= 1e-6f);
  // The shared diagonal is read, never written.
  CHECK(*p.diagonal == d);
}

TEST_CASE("Preconditioning: the Hutchinson statistic is z * (H z) at the received model") {
  const datasets::Dataset data = PreconditioningTabular();
  const Eigen::VectorXf global = Initial();
  const TrainRecipe recipe = Sgd(0.1f, 3, static_cast<int>(data.size()));
  Preconditioning p;
  p.statistic = ScalingStatistic::kHutchinson;
  SequentialOrder order;
  LocalTrainer trainer(kSpec, data);
  const LocalTrainResult r =
      trainer.Train(PreconditioningSpan(global), recipe, nullptr, &order, &p);

  // The probe is the recipe seed's stream 4; the batch is the whole set.
  Rng rng = Rng::Derive(recipe.seed, {4});
  Eigen::VectorXf z, hz;
  DrawRademacher(rng, global.size(), &z);
  nn::Model model(kSpec);
  model.SetParameters(PreconditioningSpan(global));
  model.HessianVectorProduct(nn::ColumnBlock(data.features, 0, data.features.rows()), data.labels,
                             z, &hz);
  REQUIRE(r.scaling_statistic.size() == global.size());
  CHECK((r.scaling_statistic - z.cwiseProduct(hz)).cwiseAbs().maxCoeff() <= 1e-5f);
  CHECK(r.scaling_statistic.cwiseAbs().maxCoeff() > 0.0f);

  // Measuring it does not perturb training: the same model as without it.
  LocalTrainer plain(kSpec, data);
  SequentialOrder order2;
  CHECK(plain.Train(PreconditioningSpan(global), recipe, nullptr, &order2).parameters ==
        r.parameters);
}

TEST_CASE("Preconditioning: a bad diagonal or a non-sgd optimizer is a ConfigError") {
  const datasets::Dataset data = PreconditioningTabular();
  const Eigen::VectorXf global = Initial();
  LocalTrainer trainer(kSpec, data);
  const TrainRecipe recipe = Sgd(0.1f, 2, 8);

  const Preconditioning short_one = With(Eigen::VectorXf::Ones(3), ScalingStatistic::kNone);
  CHECK_THROWS_WITH_AS(
      trainer.Train(PreconditioningSpan(global), recipe, nullptr, nullptr, &short_one),
      doctest::Contains("diagonal has 3 entries"), ConfigError);
  Eigen::VectorXf zero = Eigen::VectorXf::Ones(global.size());
  zero[5] = 0.0f;
  const Preconditioning zeroed = With(zero, ScalingStatistic::kNone);
  CHECK_THROWS_WITH_AS(
      trainer.Train(PreconditioningSpan(global), recipe, nullptr, nullptr, &zeroed),
      doctest::Contains("diagonal entry 5 must be finite and > 0"), ConfigError);

  TrainRecipe adam = recipe;
  adam.optimizer.name = "adam";
  const Preconditioning ones = With(Eigen::VectorXf::Ones(global.size()), ScalingStatistic::kNone);
  CHECK_THROWS_WITH_AS(trainer.Train(PreconditioningSpan(global), adam, nullptr, nullptr, &ones),
                       doctest::Contains("needs optimizer sgd, got adam"), ConfigError);
}

}  // namespace edgefl::train
