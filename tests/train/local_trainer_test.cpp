#include "train/local_trainer.h"

#include <cmath>
#include <numeric>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/fashion_mnist.h"
#include "datasets/synthetic.h"
#include "tests/test_util.h"

namespace edgefl::train {
namespace {

// The first n Fashion-MNIST training images.
datasets::Dataset FashionSubset(uint32_t n) {
  datasets::FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  const datasets::Dataset all = datasets::LoadFashionMnist(datasets::Split::kTrain, options);
  std::vector<uint32_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0u);
  return datasets::Subset(all, indices);
}

// Small tabular data: synthetic(1,1) pooled, 60 features, 10 classes.
datasets::Dataset Tabular() {
  datasets::SyntheticOptions options;
  options.num_clients = 5;
  options.max_samples_per_client = 200;
  return datasets::GenerateSynthetic(options).train;
}

Eigen::VectorXf InitialParameters(const std::string& spec, uint64_t seed = 7) {
  nn::Model model(spec);
  model.Initialize(seed);
  return model.parameters();
}

std::span<const float> Span(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

TrainRecipe SgdRecipe(float lr) {
  TrainRecipe recipe;
  recipe.optimizer.name = "sgd";
  recipe.optimizer.learning_rate = lr;
  recipe.batch_size = 32;
  recipe.seed = 3;
  return recipe;
}

}  // namespace

TEST_CASE("LocalTrainer: two epochs on real Fashion-MNIST lower the local loss") {
  const datasets::Dataset data = FashionSubset(2000);
  LocalTrainer trainer("mlp:784-64-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:784-64-10");
  TrainRecipe recipe = SgdRecipe(0.1f);
  recipe.epochs = 2;
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.learning_rate = 0.05f;

  const LocalTrainResult result = trainer.Train(Span(global), recipe);
  CHECK(result.num_samples == 2000);
  CHECK(result.steps == 2 * 63);  // ceil(2000 / 32) per epoch
  CHECK(result.samples_processed == 4000);
  CHECK(result.loss_before > 2.0);  // about ln(10) for a fresh model
  CHECK(result.loss_after < 0.7);
  CHECK(result.train_loss < result.loss_before);
  CHECK(result.compute_seconds > 0.0);
  CHECK(result.parameters.size() == global.size());

  const EvalResult before = trainer.Evaluate(Span(global));
  const EvalResult after = trainer.Evaluate(Span(result.parameters));
  CHECK(before.loss == doctest::Approx(result.loss_before));
  CHECK(after.loss == doctest::Approx(result.loss_after));
  CHECK(after.accuracy > 0.75);
  CHECK(after.accuracy > before.accuracy + 0.5);
  CHECK(after.per_class_accuracy.size() == 10);
}

TEST_CASE("LocalTrainer: local_steps takes exactly that many steps across passes") {
  const datasets::Dataset data = Tabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.01f);
  recipe.local_steps = 7;
  recipe.batch_size = 64;
  const LocalTrainResult result = trainer.Train(Span(global), recipe);
  CHECK(result.steps == 7);
  // Passes of n samples are cut into batches of 64 with a smaller last one.
  const int64_t n = static_cast<int64_t>(data.size());
  int64_t expected = 0, position = n;
  for (int s = 0; s < 7; ++s) {
    if (position >= n) position = 0;
    const int64_t take = std::min<int64_t>(64, n - position);
    expected += take;
    position += take;
  }
  CHECK(result.samples_processed == expected);
}

TEST_CASE("LocalTrainer: the same seed gives bit-identical parameters - another seed differs") {
  const datasets::Dataset data = Tabular();
  LocalTrainer a("mlp:60-16-10", data);
  LocalTrainer b("mlp:60-16-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:60-16-10");
  TrainRecipe recipe = SgdRecipe(0.05f);
  recipe.optimizer.momentum = 0.9f;
  const Eigen::VectorXf pa = a.Train(Span(global), recipe).parameters;
  const Eigen::VectorXf pb = b.Train(Span(global), recipe).parameters;
  CHECK(pa == pb);
  recipe.seed = 4;
  const Eigen::VectorXf pc = a.Train(Span(global), recipe).parameters;
  CHECK(pa != pc);
}

TEST_CASE("LocalTrainer: bad parameters - data and recipes are clear errors") {
  const datasets::Dataset data = Tabular();
  LocalTrainer trainer("logreg:60-10", data);
  Eigen::VectorXf global = InitialParameters("logreg:60-10");

  Eigen::VectorXf with_nan = global;
  with_nan[5] = std::nanf("");
  CHECK_THROWS_WITH_AS(trainer.Train(Span(with_nan), SgdRecipe(0.1f)), doctest::Contains("NaN"),
                       ConfigError);
  Eigen::VectorXf with_inf = global;
  with_inf[0] = INFINITY;
  CHECK_THROWS_AS(trainer.Train(Span(with_inf), SgdRecipe(0.1f)), ConfigError);
  const Eigen::VectorXf short_vector = global.head(10);
  CHECK_THROWS_AS(trainer.Train(Span(short_vector), SgdRecipe(0.1f)), ConfigError);

  TrainRecipe bad = SgdRecipe(0.1f);
  bad.batch_size = 0;
  CHECK_THROWS_WITH_AS(trainer.Train(Span(global), bad), doctest::Contains("batch_size"),
                       ConfigError);
  bad = SgdRecipe(0.1f);
  bad.optimizer.name = "lbfgs";
  CHECK_THROWS_WITH_AS(trainer.Train(Span(global), bad), doctest::Contains("lbfgs"), ConfigError);

  CHECK_THROWS_WITH_AS(LocalTrainer("mlp:784-10", data), doctest::Contains("784"), ConfigError);
  datasets::Dataset bad_labels = data;
  bad_labels.labels[3] = 12;
  CHECK_THROWS_WITH_AS(LocalTrainer("logreg:60-10", bad_labels), doctest::Contains("12"),
                       DataError);
}

TEST_CASE("LocalTrainer: divergence is an error naming the step - never a NaN model") {
  const datasets::Dataset data = FashionSubset(256);
  LocalTrainer trainer("mlp:784-32-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:784-32-10");
  TrainRecipe recipe = SgdRecipe(1e9f);
  recipe.epochs = 3;
  CHECK_THROWS_WITH_AS(trainer.Train(Span(global), recipe), doctest::Contains("diverged"), Error);
}

namespace {

// Freezes the model: every step's learning rate is set to 0.
class FrozenObjective final : public LocalObjective {
 public:
  void BeginRound(const nn::Model&, Rng&) override { ++rounds; }
  float LossAndGradient(nn::Model& model, const Batch& batch, Rng& rng) override {
    ++losses;
    return LocalObjective::LossAndGradient(model, batch, rng);
  }
  void BeforeStep(nn::Model&, const Batch&, nn::Optimizer& optimizer) override {
    optimizer.set_learning_rate(0.0f);
  }
  int rounds = 0;
  int losses = 0;
};

// Adds (lambda/2)|w|^2 to the loss: an extra local loss term.
class L2Objective final : public LocalObjective {
 public:
  float LossAndGradient(nn::Model& model, const Batch& batch, Rng& rng) override {
    const float loss = LocalObjective::LossAndGradient(model, batch, rng);
    model.gradients() += lambda * model.parameters();
    return loss + 0.5f * lambda * model.parameters().squaredNorm();
  }
  float lambda = 0.5f;
};

}  // namespace

TEST_CASE("LocalTrainer: a local objective can change the step size and add a loss term") {
  const datasets::Dataset data = Tabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.05f);
  recipe.local_steps = 20;

  FrozenObjective frozen;
  const LocalTrainResult still = trainer.Train(Span(global), recipe, &frozen);
  CHECK(frozen.rounds == 1);
  CHECK(frozen.losses == 20);
  CHECK(still.parameters == global);

  L2Objective l2;
  const LocalTrainResult plain = trainer.Train(Span(global), recipe);
  const LocalTrainResult shrunk = trainer.Train(Span(global), recipe, &l2);
  CHECK(shrunk.parameters.norm() < plain.parameters.norm());
}

TEST_CASE("LocalTrainer: optimizer state is reset per round unless the recipe carries it") {
  const datasets::Dataset data = Tabular();
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.02f);
  recipe.optimizer.momentum = 0.9f;
  recipe.local_steps = 5;

  LocalTrainer fresh("logreg:60-10", data);
  const Eigen::VectorXf first_round = fresh.Train(Span(global), recipe).parameters;

  LocalTrainer reset("logreg:60-10", data);
  reset.Train(Span(global), recipe);
  CHECK(reset.Train(Span(global), recipe).parameters == first_round);

  LocalTrainer carry("logreg:60-10", data);
  carry.Train(Span(global), recipe);
  recipe.reset_optimizer = false;
  CHECK(carry.Train(Span(global), recipe).parameters != first_round);
}

TEST_CASE("LocalTrainer: adaptive optimizers and clipping train too") {
  const datasets::Dataset data = Tabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  for (const char* name : {"adam", "rmsprop", "oasis"}) {
    INFO(std::string(name));
    TrainRecipe recipe = SgdRecipe(0.01f);
    recipe.optimizer.name = name;
    if (std::string(name) == "rmsprop") recipe.optimizer.beta2 = 0.99f;
    if (std::string(name) == "oasis") recipe.optimizer.learning_rate = 0.01f;
    recipe.epochs = 3;
    recipe.clip_norm = 5.0f;
    recipe.clip_coordinate_fraction = 0.05f;
    const LocalTrainResult result = trainer.Train(Span(global), recipe);
    CHECK(result.loss_after < result.loss_before);
  }
}

TEST_CASE(
    "LocalTrainer: loss_sq_before is the mean squared per-sample loss of the received model") {
  const datasets::Dataset data = Tabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.01f);
  recipe.local_steps = 3;
  const LocalTrainResult result = trainer.Train(Span(global), recipe);

  // By hand: each sample's loss alone, squared, averaged.
  nn::Model model("logreg:60-10");
  model.SetParameters(Span(global));
  double squared = 0.0, plain = 0.0;
  for (size_t i = 0; i < data.size(); ++i) {
    const std::vector<uint32_t> one = {static_cast<uint32_t>(i)};
    const datasets::Dataset sample = datasets::Subset(data, one);
    const double loss = LocalTrainer::Evaluate(model, sample).loss;
    squared += loss * loss;
    plain += loss;
  }
  const double n = static_cast<double>(data.size());
  CHECK(result.loss_sq_before == doctest::Approx(squared / n).epsilon(1e-6));
  CHECK(result.loss_before == doctest::Approx(plain / n).epsilon(1e-6));
  CHECK(result.loss_sq_before > result.loss_before * result.loss_before);  // Jensen, unequal losses
  CHECK(trainer.Evaluate(Span(global)).mean_squared_loss == doctest::Approx(result.loss_sq_before));

  recipe.measure_loss = false;
  CHECK(std::isnan(trainer.Train(Span(global), recipe).loss_sq_before));
}

}  // namespace edgefl::train
