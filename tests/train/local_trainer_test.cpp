#include "train/local_trainer.h"

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/fashion_mnist.h"
#include "datasets/synthetic.h"
#include "tests/test_util.h"

namespace edgefl::train {
namespace {

// The first n Fashion-MNIST training images.
datasets::Dataset LocalTrainerFashionSubset(uint32_t n) {
  datasets::FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  const datasets::Dataset all = datasets::LoadFashionMnist(datasets::Split::kTrain, options);
  std::vector<uint32_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0u);
  return datasets::Subset(all, indices);
}

// Small tabular data: synthetic(1,1) pooled, 60 features, 10 classes.
datasets::Dataset LocalTrainerTabular() {
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

std::span<const float> LocalTrainerSpan(const Eigen::VectorXf& v) {
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
  const datasets::Dataset data = LocalTrainerFashionSubset(2000);
  LocalTrainer trainer("mlp:784-64-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:784-64-10");
  TrainRecipe recipe = SgdRecipe(0.1f);
  recipe.epochs = 2;
  recipe.optimizer.momentum = 0.9f;
  recipe.optimizer.learning_rate = 0.05f;

  const LocalTrainResult result = trainer.Train(LocalTrainerSpan(global), recipe);
  CHECK(result.num_samples == 2000);
  CHECK(result.steps == 2 * 63);  // ceil(2000 / 32) per epoch
  CHECK(result.samples_processed == 4000);
  CHECK(result.loss_before > 2.0);  // about ln(10) for a fresh model
  CHECK(result.loss_after < 0.7);
  CHECK(result.train_loss < result.loss_before);
  CHECK(result.compute_seconds > 0.0);
  CHECK(result.parameters.size() == global.size());

  const EvalResult before = trainer.Evaluate(LocalTrainerSpan(global));
  const EvalResult after = trainer.Evaluate(LocalTrainerSpan(result.parameters));
  CHECK(before.loss == doctest::Approx(result.loss_before));
  CHECK(after.loss == doctest::Approx(result.loss_after));
  CHECK(after.accuracy > 0.75);
  CHECK(after.accuracy > before.accuracy + 0.5);
  CHECK(after.per_class_accuracy.size() == 10);
}

TEST_CASE("LocalTrainer: local_steps takes exactly that many steps across passes") {
  const datasets::Dataset data = LocalTrainerTabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.01f);
  recipe.local_steps = 7;
  recipe.batch_size = 64;
  const LocalTrainResult result = trainer.Train(LocalTrainerSpan(global), recipe);
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
  const datasets::Dataset data = LocalTrainerTabular();
  LocalTrainer a("mlp:60-16-10", data);
  LocalTrainer b("mlp:60-16-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:60-16-10");
  TrainRecipe recipe = SgdRecipe(0.05f);
  recipe.optimizer.momentum = 0.9f;
  const Eigen::VectorXf pa = a.Train(LocalTrainerSpan(global), recipe).parameters;
  const Eigen::VectorXf pb = b.Train(LocalTrainerSpan(global), recipe).parameters;
  CHECK(pa == pb);
  recipe.seed = 4;
  const Eigen::VectorXf pc = a.Train(LocalTrainerSpan(global), recipe).parameters;
  CHECK(pa != pc);
}

TEST_CASE("LocalTrainer: bad parameters - data and recipes are clear errors") {
  const datasets::Dataset data = LocalTrainerTabular();
  LocalTrainer trainer("logreg:60-10", data);
  Eigen::VectorXf global = InitialParameters("logreg:60-10");

  Eigen::VectorXf with_nan = global;
  with_nan[5] = std::nanf("");
  CHECK_THROWS_WITH_AS(trainer.Train(LocalTrainerSpan(with_nan), SgdRecipe(0.1f)),
                       doctest::Contains("NaN"), ConfigError);
  Eigen::VectorXf with_inf = global;
  with_inf[0] = INFINITY;
  CHECK_THROWS_AS(trainer.Train(LocalTrainerSpan(with_inf), SgdRecipe(0.1f)), ConfigError);
  const Eigen::VectorXf short_vector = global.head(10);
  CHECK_THROWS_AS(trainer.Train(LocalTrainerSpan(short_vector), SgdRecipe(0.1f)), ConfigError);

  TrainRecipe bad = SgdRecipe(0.1f);
  bad.batch_size = 0;
  CHECK_THROWS_WITH_AS(trainer.Train(LocalTrainerSpan(global), bad),
                       doctest::Contains("batch_size"), ConfigError);
  bad = SgdRecipe(0.1f);
  bad.optimizer.name = "lbfgs";
  CHECK_THROWS_WITH_AS(trainer.Train(LocalTrainerSpan(global), bad), doctest::Contains("lbfgs"),
                       ConfigError);

  CHECK_THROWS_WITH_AS(LocalTrainer("mlp:784-10", data), doctest::Contains("784"), ConfigError);
  datasets::Dataset bad_labels = data;
  bad_labels.labels[3] = 12;
  CHECK_THROWS_WITH_AS(LocalTrainer("logreg:60-10", bad_labels), doctest::Contains("12"),
                       DataError);
}

TEST_CASE("LocalTrainer: divergence is an error naming the step - never a NaN model") {
  const datasets::Dataset data = LocalTrainerFashionSubset(256);
  LocalTrainer trainer("mlp:784-32-10", data);
  const Eigen::VectorXf global = InitialParameters("mlp:784-32-10");
  TrainRecipe recipe = SgdRecipe(1e9f);
  recipe.epochs = 3;
  CHECK_THROWS_WITH_AS(trainer.Train(LocalTrainerSpan(global), recipe),
                       doctest::Contains("diverged"), Error);
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
  const datasets::Dataset data = LocalTrainerTabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.05f);
  recipe.local_steps = 20;

  FrozenObjective frozen;
  const LocalTrainResult still = trainer.Train(LocalTrainerSpan(global), recipe, &frozen);
  CHECK(frozen.rounds == 1);
  CHECK(frozen.losses == 20);
  CHECK(still.parameters == global);

  L2Objective l2;
  const LocalTrainResult plain = trainer.Train(LocalTrainerSpan(global), recipe);
  const LocalTrainResult shrunk = trainer.Train(LocalTrainerSpan(global), recipe, &l2);
  CHECK(shrunk.parameters.norm() < plain.parameters.norm());
}

TEST_CASE("LocalTrainer: optimizer state is reset per round unless the recipe carries it") {
  const datasets::Dataset data = LocalTrainerTabular();
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.02f);
  recipe.optimizer.momentum = 0.9f;
  recipe.local_steps = 5;

  LocalTrainer fresh("logreg:60-10", data);
  const Eigen::VectorXf first_round = fresh.Train(LocalTrainerSpan(global), recipe).parameters;

  LocalTrainer reset("logreg:60-10", data);
  reset.Train(LocalTrainerSpan(global), recipe);
  CHECK(reset.Train(LocalTrainerSpan(global), recipe).parameters == first_round);

  LocalTrainer carry("logreg:60-10", data);
  carry.Train(LocalTrainerSpan(global), recipe);
  recipe.reset_optimizer = false;
  CHECK(carry.Train(LocalTrainerSpan(global), recipe).parameters != first_round);
}

// Records the learning rate the optimizer holds at each step.
class LrRecorder final : public LocalObjective {
 public:
  std::vector<float> lrs;
  int64_t offset = -1;
  void SetStepOffset(int64_t step_offset) override { offset = step_offset; }
  void BeforeStep(nn::Model& /*model*/, const Batch& /*batch*/, nn::Optimizer& optimizer) override {
    lrs.push_back(optimizer.learning_rate());
  }
};

TEST_CASE("LocalTrainer: a per-step schedule sets the lr of every local step from the offset") {
  const datasets::Dataset data = LocalTrainerTabular();
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.5f);  // not used: the schedule decides
  recipe.local_steps = 6;
  recipe.step_offset = 2;
  LrSchedule cosine;  // warm-up 4 steps, then a cosine over 16 steps to 0
  cosine.kind = LrScheduleKind::kCosine;
  cosine.base = 0.1;
  cosine.total = 20;
  cosine.warmup = 4;
  recipe.lr_schedule = cosine;
  LocalTrainer trainer("logreg:60-10", data);
  LrRecorder recorder;
  trainer.Train(LocalTrainerSpan(global), recipe, &recorder);
  CHECK(recorder.offset == 2);
  // Global steps 2..7 by hand: 0.1·3/4, 0.1·4/4, then 0.05·(1 + cos(π·k/16)), k = 0..3.
  const std::vector<double> expected = {0.075, 0.1, 0.1, 0.0990392640, 0.0961939766, 0.0915734806};
  REQUIRE(recorder.lrs.size() == expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    CAPTURE(k);
    CHECK(recorder.lrs[k] == doctest::Approx(expected[k]).epsilon(1e-6));
  }

  // Without a schedule the round keeps optimizer.learning_rate throughout.
  recipe.lr_schedule.reset();
  LrRecorder constant;
  trainer.Train(LocalTrainerSpan(global), recipe, &constant);
  CHECK(constant.lrs == std::vector<float>(6, 0.5f));
}

TEST_CASE("LocalTrainer: the scheduled lr is the one the steps take") {
  // Full-batch steps in a fixed order: one 4-step round on the schedule
  // equals four 1-step rounds, each with that step's lr, bit for bit.
  const datasets::Dataset data = LocalTrainerTabular();
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.0f);
  recipe.batch_size = static_cast<int>(data.size());
  recipe.measure_loss = false;
  LrSchedule step;
  step.kind = LrScheduleKind::kStep;
  step.base = 0.4;
  step.decay = 0.5;
  step.step_every = 2;
  SequentialOrder order;

  LocalTrainer scheduled("logreg:60-10", data);
  TrainRecipe whole = recipe;
  whole.local_steps = 4;
  whole.step_offset = 1;
  whole.lr_schedule = step;
  const Eigen::VectorXf once =
      scheduled.Train(LocalTrainerSpan(global), whole, nullptr, &order).parameters;

  LocalTrainer stepwise("logreg:60-10", data);
  Eigen::VectorXf w = global;
  for (const float lr : {0.4f, 0.2f, 0.2f, 0.1f}) {  // global steps 1, 2, 3, 4
    TrainRecipe one = recipe;
    one.local_steps = 1;
    one.optimizer.learning_rate = lr;
    w = stepwise.Train(LocalTrainerSpan(w), one, nullptr, &order).parameters;
  }
  CHECK(once == w);
}

TEST_CASE("LocalTrainer: reset_optimizer false carries Adam's moments to the next round") {
  const datasets::Dataset data = LocalTrainerTabular();
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.01f);
  recipe.optimizer.name = "adamw";
  recipe.local_steps = 3;
  recipe.measure_loss = false;
  // Two rounds on one trainer (one client) with the state kept are six Adam
  // steps in a row: the same as one 6-step round when the round starts
  // where the first ended, which it does here (each round starts from the
  // parameters the last one reached, as a client would with no averaging).
  recipe.batch_size = static_cast<int>(data.size());
  SequentialOrder order;
  TrainRecipe six = recipe;
  six.local_steps = 6;
  LocalTrainer reference("logreg:60-10", data);
  const Eigen::VectorXf straight =
      reference.Train(LocalTrainerSpan(global), six, nullptr, &order).parameters;

  recipe.reset_optimizer = false;
  LocalTrainer carry("logreg:60-10", data);
  const Eigen::VectorXf half =
      carry.Train(LocalTrainerSpan(global), recipe, nullptr, &order).parameters;
  CHECK(carry.Train(LocalTrainerSpan(half), recipe, nullptr, &order).parameters == straight);

  recipe.reset_optimizer = true;  // moments and bias correction start over
  LocalTrainer reset("logreg:60-10", data);
  const Eigen::VectorXf half_reset =
      reset.Train(LocalTrainerSpan(global), recipe, nullptr, &order).parameters;
  CHECK(reset.Train(LocalTrainerSpan(half_reset), recipe, nullptr, &order).parameters != straight);
}

TEST_CASE("LocalTrainer: adaptive optimizers and clipping train too") {
  const datasets::Dataset data = LocalTrainerTabular();
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
    const LocalTrainResult result = trainer.Train(LocalTrainerSpan(global), recipe);
    CHECK(result.loss_after < result.loss_before);
  }
}

TEST_CASE(
    "LocalTrainer: loss_sq_before is the mean squared per-sample loss of the received model") {
  const datasets::Dataset data = LocalTrainerTabular();
  LocalTrainer trainer("logreg:60-10", data);
  const Eigen::VectorXf global = InitialParameters("logreg:60-10");
  TrainRecipe recipe = SgdRecipe(0.01f);
  recipe.local_steps = 3;
  const LocalTrainResult result = trainer.Train(LocalTrainerSpan(global), recipe);

  // By hand: each sample's loss alone, squared, averaged.
  nn::Model model("logreg:60-10");
  model.SetParameters(LocalTrainerSpan(global));
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
  CHECK(trainer.Evaluate(LocalTrainerSpan(global)).mean_squared_loss ==
        doctest::Approx(result.loss_sq_before));

  recipe.measure_loss = false;
  CHECK(std::isnan(trainer.Train(LocalTrainerSpan(global), recipe).loss_sq_before));
}

}  // namespace edgefl::train
