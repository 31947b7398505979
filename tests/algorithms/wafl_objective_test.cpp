#include "algorithms/wafl_objective.h"

#include <doctest/doctest.h>

#include "common/error.h"
#include "nn/softmax_cross_entropy.h"
#include "tests/algorithms/local_objective_test_util.h"
#include "train/local_trainer.h"

namespace edgefl::algorithms {
namespace {

using testing::FirstRows;

constexpr const char* kWaflObjectiveSpec = "mlp:60-16-10";

}  // namespace

TEST_CASE("WAFL with zero perturbation equals plain cross-entropy training bit for bit") {
  const datasets::Dataset data = testing::Tabular();
  const Eigen::VectorXf global = testing::InitialParameters(kWaflObjectiveSpec);
  train::TrainRecipe recipe = testing::SgdRecipe(0.05f, 2);
  recipe.optimizer.momentum = 0.9f;

  train::LocalTrainer plain(kWaflObjectiveSpec, data);
  const auto expected = plain.Train(testing::Span(global), recipe);

  WaflOptions options;
  options.adv_steps = 0;
  options.init_noise = 0.0f;
  WaflObjective wafl(options);
  train::LocalTrainer trainer(kWaflObjectiveSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &wafl);
  CHECK(result.steps == expected.steps);
  CHECK(result.parameters == expected.parameters);  // bit for bit
  CHECK(result.train_loss == expected.train_loss);
}

TEST_CASE("WAFL perturbation shrinks toward the batch as gamma grows") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kWaflObjectiveSpec);
  model.Initialize(5);
  const FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  double previous = 1e30;
  for (const float gamma : {1.0f, 10.0f, 100.0f, 1000.0f}) {
    WaflOptions options;
    options.gamma = gamma;
    options.adv_step = 1.0f / gamma;  // stable for any γ
    options.init_noise = 0.0f;
    options.adv_steps = 20;
    WaflObjective wafl(options);
    testing::LossWithSeed(wafl, model, batch, 1);
    const double distance = (wafl.last_adversarial_batch() - batch.x).norm();
    CHECK(distance < previous);
    previous = distance;
  }
  CHECK(previous < 1e-2);
}

TEST_CASE("WAFL inner ascent steps do not decrease the penalised loss") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kWaflObjectiveSpec);
  model.Initialize(5);
  const FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  WaflOptions options;
  options.adv_step = 0.05f;
  options.adv_steps = 10;
  options.adv_tol = 0.0f;
  WaflObjective wafl(options);
  testing::LossWithSeed(wafl, model, batch, 2);
  const auto& values = wafl.last_inner_objective();
  REQUIRE(values.size() == 11);
  CHECK(wafl.last_inner_steps() == 10);
  for (size_t i = 1; i < values.size(); ++i) {
    CHECK(values[i] >= values[i - 1] - 1e-6);
  }
  CHECK(values.back() > values.front());
}

TEST_CASE("WAFL first ascent step moves each sample along its own loss gradient") {
  // From X_adv = X (no noise) the penalty's gradient is 0, so one ascent step
  // is x_i + α_adv·∇_{x_i} ℓ(θ; x_i, y_i): each sample's own gradient, not the
  // batch mean's (which is 1/B of it: the code multiplies by B).
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kWaflObjectiveSpec);
  model.Initialize(5);
  const FirstRows rows(4);
  const train::Batch batch = rows.Get(data);
  WaflOptions options;
  options.adv_steps = 1;
  options.adv_step = 0.5f;
  options.init_noise = 0.0f;
  options.adv_tol = 0.0f;
  WaflObjective wafl(options);
  testing::LossWithSeed(wafl, model, batch, 1);
  const Eigen::MatrixXf moved = wafl.last_adversarial_batch() - batch.x;
  REQUIRE(wafl.last_inner_steps() == 1);
  for (Eigen::Index i = 0; i < batch.size(); ++i) {
    CAPTURE(i);
    const Eigen::MatrixXf x_i = batch.x.col(i);
    Eigen::MatrixXf dlogits;
    Eigen::MatrixXf dx;
    nn::SoftmaxCrossEntropy(model.Forward(x_i), batch.labels.subspan(static_cast<size_t>(i), 1),
                            &dlogits);
    nn::BackwardOptions backward;
    backward.dinput = &dx;
    model.Backward(x_i, dlogits, backward);
    const Eigen::VectorXf expected = 0.5f * dx.col(0);
    REQUIRE(expected.norm() > 1e-4f);
    CHECK((moved.col(i) - expected).norm() <= 1e-5f * expected.norm() + 1e-7f);
  }
}

TEST_CASE("WAFL leaves labels untouched and returns the loss at the perturbed batch") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kWaflObjectiveSpec);
  model.Initialize(5);
  const FirstRows rows(32);
  const train::Batch batch = rows.Get(data);
  const std::vector<int32_t> labels_before(batch.labels.begin(), batch.labels.end());
  WaflObjective wafl(WaflOptions{});
  const float loss = testing::LossWithSeed(wafl, model, batch, 3);
  CHECK(std::equal(labels_before.begin(), labels_before.end(), batch.labels.begin()));
  const Eigen::MatrixXf x_adv = wafl.last_adversarial_batch();
  CHECK((x_adv - batch.x).norm() > 0.0f);
  const float clean = nn::SoftmaxCrossEntropy(model.Forward(batch.x), batch.labels, nullptr);
  CHECK(loss == nn::SoftmaxCrossEntropy(model.Forward(x_adv), batch.labels, nullptr));
  CHECK(loss > clean);  // the ascent raised the loss
  // The gradient is the plain one at X_adv.
  const Eigen::VectorXf gradient = model.gradients();
  model.LossAndGradient(x_adv, batch.labels);
  CHECK(model.gradients() == gradient);
}

TEST_CASE("WAFL initial noise lies in zero to epsilon0") {
  const datasets::Dataset data = testing::Tabular();
  nn::Model model(kWaflObjectiveSpec);
  model.Initialize(5);
  const FirstRows rows(16);
  const train::Batch batch = rows.Get(data);
  WaflOptions options;
  options.adv_steps = 0;
  options.init_noise = 0.5f;
  WaflObjective wafl(options);
  testing::LossWithSeed(wafl, model, batch, 4);
  const Eigen::MatrixXf noise = wafl.last_adversarial_batch() - batch.x;
  CHECK(noise.minCoeff() >= 0.0f);
  CHECK(noise.maxCoeff() <= 0.5f + 1e-6f);
  CHECK(noise.mean() == doctest::Approx(0.25).epsilon(0.1));
}

TEST_CASE("WAFL in the LocalTrainer steps along the gradient at the adversarial batch") {
  // One full-batch SGD step: the trainer must apply exactly WAFL's gradient
  // (at X_adv, after the inner ascent), not the clean one.
  const datasets::Dataset all = testing::Tabular();
  const datasets::Dataset data = datasets::Subset(all, FirstRows(8).indices);
  const Eigen::VectorXf global = testing::InitialParameters(kWaflObjectiveSpec);
  WaflOptions options;
  options.adv_steps = 3;
  options.adv_step = 0.5f;
  options.init_noise = 0.0f;  // deterministic: no draw to replay
  options.adv_tol = 0.0f;
  train::TrainRecipe recipe = testing::SgdRecipe(0.1f);
  recipe.batch_size = 8;
  recipe.local_steps = 1;

  WaflObjective wafl(options);
  train::LocalTrainer trainer(kWaflObjectiveSpec, data);
  const auto result = trainer.Train(testing::Span(global), recipe, &wafl);
  REQUIRE(result.steps == 1);

  nn::Model model(kWaflObjectiveSpec);
  model.parameters() = global;
  WaflObjective by_hand(options);
  testing::LossWithSeed(by_hand, model, FirstRows(8).Get(data), 1);
  const Eigen::VectorXf expected = global - 0.1f * model.gradients();
  const Eigen::VectorXf clean_step = [&] {
    nn::Model clean(kWaflObjectiveSpec);
    clean.parameters() = global;
    clean.LossAndGradient(FirstRows(8).Get(data).x, FirstRows(8).Get(data).labels);
    return Eigen::VectorXf(global - 0.1f * clean.gradients());
  }();
  // Same batch in another order: equal up to float summation order.
  CHECK((result.parameters - expected).norm() <= 1e-5f * (expected - global).norm());
  CHECK((result.parameters - clean_step).norm() > 1e-2f * (expected - global).norm());
}

TEST_CASE("WAFL rejects out-of-range options naming them") {
  WaflOptions options;
  options.gamma = -1.0f;
  CHECK_THROWS_WITH_AS(WaflObjective{options}, doctest::Contains("wafl: gamma"), ConfigError);
  options = WaflOptions{};
  options.adv_steps = -2;
  CHECK_THROWS_WITH_AS(WaflObjective{options}, doctest::Contains("adv_steps"), ConfigError);
  options = WaflOptions{};
  options.gamma = 3.0f;  // α_adv·γ = 3 ≥ 2
  CHECK_THROWS_WITH_AS(WaflObjective{options}, doctest::Contains("adv_step * gamma"), ConfigError);
}

}  // namespace edgefl::algorithms
