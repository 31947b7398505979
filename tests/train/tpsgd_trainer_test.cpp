// tpSGD (train/tpsgd_trainer.h): the delta rule on a hand example, the
// convolution's update against a numerical gradient of its own layer loss,
// the fixed projections, the bytes the trainer holds, and learning.
#include "train/tpsgd_trainer.h"

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/fashion_mnist.h"
#include "nn/conv2d.h"
#include "nn/model.h"
#include "tests/test_util.h"
#include "train/local_objective.h"
#include "train/local_trainer.h"

namespace edgefl::train {
namespace {

std::span<const float> TpsgdTrainerSpan(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

datasets::Dataset OneSample(std::vector<float> x, int32_t label, int classes) {
  datasets::Dataset d;
  d.name = "hand";
  d.features = datasets::FeatureMatrix(1, static_cast<Eigen::Index>(x.size()));
  for (size_t i = 0; i < x.size(); ++i)
    d.features(0, static_cast<Eigen::Index>(i)) = x[i];
  d.labels = {label};
  d.num_classes = classes;
  d.sample_shape = {static_cast<int>(x.size())};
  return d;
}

TrainRecipe OneStep(float lr) {
  TrainRecipe recipe;
  recipe.local_steps = 1;
  recipe.batch_size = 1;
  recipe.optimizer.learning_rate = lr;
  recipe.measure_loss = false;
  return recipe;
}

datasets::Dataset TpsgdTrainerFashionSubset(uint32_t first, uint32_t n) {
  datasets::FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  const datasets::Dataset all = datasets::LoadFashionMnist(datasets::Split::kTrain, options);
  std::vector<uint32_t> indices(n);
  std::iota(indices.begin(), indices.end(), first);
  return datasets::Subset(all, indices);
}

double Accuracy(const std::string& spec, const Eigen::VectorXf& params,
                const datasets::Dataset& data) {
  nn::Model model(spec);
  model.SetParameters(params);
  return LocalTrainer::Evaluate(model, data).accuracy;
}

// mlp:2-2-2 with x = (1, 2), label 1: hidden z = W1 x + b1 = (0.2, -1.2), so
// y1 = (0.2, 0) and the second unit's ReLU gate is shut.
Eigen::VectorXf HandParameters() {
  Eigen::VectorXf p(12);
  // W1 column-major (out x in): W1 = [[0.5, -0.2], [-0.3, -0.4]], b1 = (0.1, -0.1)
  p << 0.5f, -0.3f, -0.2f, -0.4f, 0.1f, -0.1f,
      // W2 = [[1, -1], [0.5, 0.25]], b2 = (0, 0)
      1.0f, 0.5f, -1.0f, 0.25f, 0.0f, 0.0f;
  return p;
}

TEST_CASE("tpsgd: one step is the paper's delta rule on a hand example") {
  const datasets::Dataset data = OneSample({1.0f, 2.0f}, 1, 2);
  const float eta = 0.1f;
  const uint64_t seed = 7;
  const Eigen::MatrixXf p0 = TargetProjection(seed, 0, 2, 2, 1.0);
  const float t0 = p0(0, 1), t1 = p0(1, 1);  // P_0 y* for y* = class 1
  const Eigen::VectorXf w = HandParameters();
  const float x0 = 1.0f, x1 = 2.0f;
  const float y0 = 0.2f;  // hidden output (0.2, 0); unit 1's gate σ'(z) = 0

  for (const LayerLoss loss : {LayerLoss::kL2, LayerLoss::kL1}) {
    CAPTURE(static_cast<int>(loss));
    TpsgdTrainer trainer("mlp:2-2-2", data);
    TpsgdOptions options;
    options.projection_seed = seed;
    options.layer_loss = loss;
    const Eigen::VectorXf out =
        trainer.Train(TpsgdTrainerSpan(w), OneStep(eta), options).parameters;

    // Hidden layer: w += η e ⊙ σ'(z) xᵀ with e = P y* − y (ℓ2) or its sign (ℓ1).
    const float e0 = loss == LayerLoss::kL2 ? t0 - y0 : (t0 - y0 > 0 ? 1.0f : -1.0f);
    const float gate0 = 1.0f;
    CHECK(out(0) == doctest::Approx(0.5f + eta * e0 * gate0 * x0).epsilon(1e-6));
    CHECK(out(2) == doctest::Approx(-0.2f + eta * e0 * gate0 * x1).epsilon(1e-6));
    CHECK(out(4) == doctest::Approx(0.1f + eta * e0 * gate0).epsilon(1e-6));
    // Unit 1 is gated off: its weights and bias do not move, whatever t1 is.
    CHECK(t1 != 0.0f);
    CHECK(out(1) == -0.3f);
    CHECK(out(3) == -0.4f);
    CHECK(out(5) == -0.1f);

    // Output layer on the task loss, fed the hidden output of this forward
    // pass h = (0.2, 0): logits (0.2·1, 0.2·0.5) = (0.2, 0.1).
    const double s0 = std::exp(0.2) / (std::exp(0.2) + std::exp(0.1));
    const double d0 = s0, d1 = (1.0 - s0) - 1.0;  // softmax − onehot(1)
    CHECK(out(6) == doctest::Approx(1.0 - eta * d0 * y0).epsilon(1e-6));
    CHECK(out(7) == doctest::Approx(0.5 - eta * d1 * y0).epsilon(1e-6));
    CHECK(out(8) == -1.0f);  // h_1 = 0: no change
    CHECK(out(9) == 0.25f);
    CHECK(out(10) == doctest::Approx(-eta * d0).epsilon(1e-6));
    CHECK(out(11) == doctest::Approx(-eta * d1).epsilon(1e-6));
  }
}

TEST_CASE("tpsgd: a convolution steps on the gradient of its own pre-pool layer loss only") {
  // LeNet's first layer (conv 5x5x6, ReLU, max-pool 2) on two images: the
  // trainer's step equals -lr times a central-difference gradient of
  // J(W) = ½ mean_b ‖relu(conv(W; x_b)) − P_0 y*_b‖² / (28 · 28) over the
  // whole pre-pool map (6 x 28 x 28: one target per unit and position, as
  // DRTP's hook sits before the pool; averaged over the 28 x 28 positions),
  // whatever the layers after it do.
  const datasets::Dataset data = TpsgdTrainerFashionSubset(0, 2);
  const std::string spec = "cnn:lenet";
  nn::Model init(spec);
  init.Initialize(3);
  const Eigen::VectorXf w = init.parameters();
  TpsgdOptions options;
  options.projection_seed = 11;
  options.target_scale = 0.1;
  TrainRecipe recipe = OneStep(0.01f);
  recipe.batch_size = 2;
  TpsgdTrainer trainer(spec, data);
  CHECK(trainer.target_rows(0) == 6 * 28 * 28);
  CHECK(trainer.target_rows(1) == 16 * 10 * 10);
  CHECK(trainer.target_rows(2) == 120);
  SequentialOrder order;
  const Eigen::VectorXf out =
      trainer.Train(TpsgdTrainerSpan(w), recipe, options, &order).parameters;

  nn::Conv2d conv(
      nn::ImageShape{1, 28, 28},
      nn::Conv2dOptions{
          .filters = 6, .kernel = 5, .stride = 1, .padding = 2, .relu = true, .pool = 1});
  const Eigen::MatrixXf p0 = TargetProjection(11, 0, 6 * 28 * 28, 10, 0.1);
  Eigen::MatrixXf x(784, 2);
  for (int b = 0; b < 2; ++b)
    x.col(b) = data.features.row(b).transpose();
  Eigen::MatrixXf y(conv.output_size(), 2);
  Eigen::VectorXf wc = w.head(conv.num_parameters());
  auto layer_loss = [&](const Eigen::VectorXf& params) {
    conv.Forward(params.data(), x, y);
    double j = 0.0;
    for (int b = 0; b < 2; ++b)
      j += 0.5 * (y.col(b) - p0.col(data.labels[static_cast<size_t>(b)])).squaredNorm() / 784.0;
    return j / 2.0;
  };
  const double h = 1e-2;
  int checked = 0;
  for (Eigen::Index k : {Eigen::Index{0}, Eigen::Index{7}, Eigen::Index{30}, Eigen::Index{77},
                         Eigen::Index{149}, conv.num_parameters() - 1}) {
    CAPTURE(k);
    Eigen::VectorXf plus = wc, minus = wc;
    plus(k) += static_cast<float>(h);
    minus(k) -= static_cast<float>(h);
    const double grad = (layer_loss(plus) - layer_loss(minus)) / (2 * h);
    const double step = static_cast<double>(out(k)) - static_cast<double>(w(k));
    CHECK(step == doctest::Approx(-0.01 * grad).epsilon(0.02).scale(1e-5));
    checked += std::abs(step) > 1e-6 ? 1 : 0;
  }
  CHECK(checked >= 3);  // the check is not vacuous: most of these weights moved
}

TEST_CASE("tpsgd: a convolution's step is the pre-pool delta rule on a hand example") {
  // One 28 x 28 image, all zero but pixel (10, 12) = v, through LeNet's first
  // layer (5x5, padding 2, 6 filters, biases -0.1 < 0). Output position (i, j)
  // of filter f sees the pixel through weight W[f, a, b] with (a, b) =
  // (10 - i + 2, 12 - j + 2), so z = -0.1 + v W[f, a, b] there and z = -0.1
  // (gate shut) everywhere else. The delta rule, before the pool:
  //   δ = (relu(z) − t) ⊙ 1[z > 0] / 784 (ℓ2) or sign(relu(z) − t) ⊙ 1[z > 0] / 784
  //   (ℓ1; 784 = 28 x 28 positions: the layer loss is their mean),
  //   t = (P_0 y*) at unit (f, i, j) of the 6 x 28 x 28 map,
  //   W[f, a, b] −= η δ(f, i, j) v  (the one position whose patch holds the pixel),
  //   b_f −= η Σ_(i, j) δ(f, i, j).
  const float v = 2.0f, eta = 20.0f;
  std::vector<float> image(784, 0.0f);
  image[10 * 28 + 12] = v;
  const datasets::Dataset data = OneSample(image, 3, 10);
  nn::Model init("cnn:lenet");
  init.Initialize(1);
  Eigen::VectorXf w = init.parameters();
  for (int f = 0; f < 6; ++f) {
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 5; ++b)
        w((f * 5 + a) * 5 + b) = 0.05f * static_cast<float>((a + 2 * b + f) % 7) - 0.1f;
    w(150 + f) = -0.1f;
  }
  const uint64_t seed = 21;
  const Eigen::VectorXf t = TargetProjection(seed, 0, 6 * 28 * 28, 10, 0.2).col(3);
  for (const LayerLoss loss : {LayerLoss::kL2, LayerLoss::kL1}) {
    CAPTURE(static_cast<int>(loss));
    TpsgdOptions options;
    options.projection_seed = seed;
    options.target_scale = 0.2;
    options.layer_loss = loss;
    TpsgdTrainer trainer("cnn:lenet", data);
    const Eigen::VectorXf out =
        trainer.Train(TpsgdTrainerSpan(w), OneStep(eta), options).parameters;
    int open = 0, shut = 0;
    for (int f = 0; f < 6; ++f) {
      double bias_step = 0.0;
      for (int a = 0; a < 5; ++a) {
        for (int b = 0; b < 5; ++b) {
          const Eigen::Index k = (f * 5 + a) * 5 + b;
          const int i = 10 - a + 2, j = 12 - b + 2;
          const float z = -0.1f + v * w(k);
          const float e = z - t(f * 784 + i * 28 + j);
          const float delta =
              z > 0.0f ? (loss == LayerLoss::kL2 ? e : (e > 0.0f ? 1.0f : -1.0f)) / 784.0f : 0.0f;
          CHECK(out(k) == doctest::Approx(w(k) - eta * delta * v).epsilon(1e-5));
          if (z > 0.0f) CHECK(std::abs(out(k) - w(k)) > 1e-4f);  // a visible step
          bias_step += delta;
          (z > 0.0f ? open : shut) += 1;
        }
      }
      CHECK(out(150 + f) == doctest::Approx(-0.1 - eta * bias_step).epsilon(1e-5));
    }
    CHECK(open > 20);  // both sides of the gate are exercised
    CHECK(shut > 20);
  }
}

TEST_CASE("tpsgd: the projections are fixed by the seed and differ per layer and seed") {
  const Eigen::MatrixXf a = TargetProjection(5, 1, 200, 10, 1.0);
  CHECK(a == TargetProjection(5, 1, 200, 10, 1.0));  // any client, any round
  CHECK(a != TargetProjection(6, 1, 200, 10, 1.0));
  CHECK(a != TargetProjection(5, 0, 200, 10, 1.0));
  CHECK(TargetProjection(5, 1, 200, 10, 2.0) == 2.0f * a);
  // Column c is drawn on its own (the trainer never stores P).
  Eigen::VectorXf column(200);
  TargetColumn(5, 1, 4, 1.0, std::span<float>(column.data(), 200));
  CHECK(column == a.col(4));
  // Roughly N(0, 1).
  CHECK(std::abs(a.mean()) < 0.1);
  CHECK(std::sqrt(a.array().square().mean()) == doctest::Approx(1.0).epsilon(0.1));

  // Two clients with different data train against the same P: one step from
  // the same model on the same sample gives the same update on both.
  const datasets::Dataset one = OneSample({1.0f, 2.0f}, 1, 2);
  TpsgdOptions options;
  options.projection_seed = 9;
  TpsgdTrainer client_a("mlp:2-2-2", one);
  TpsgdTrainer client_b("mlp:2-2-2", one);
  const Eigen::VectorXf w = HandParameters();
  CHECK(client_a.Train(TpsgdTrainerSpan(w), OneStep(0.1f), options).parameters ==
        client_b.Train(TpsgdTrainerSpan(w), OneStep(0.1f), options).parameters);
}

class TpsgdHook final : public LocalObjective {
 public:
  const TpsgdOptions* layerwise_training() const override { return &options_; }

 private:
  TpsgdOptions options_;
};

TEST_CASE("tpsgd: training holds no backward buffer - the bytes the trainer holds") {
  const datasets::Dataset data = TpsgdTrainerFashionSubset(0, 64);
  const std::string spec = "mlp:784-200-200-10";
  nn::Model init(spec);
  init.Initialize(1);
  TrainRecipe recipe;
  recipe.epochs = 1;
  recipe.batch_size = 32;
  recipe.optimizer.learning_rate = 0.01f;

  LocalTrainer tpsgd(spec, data);
  TpsgdHook hook;
  tpsgd.Train(TpsgdTrainerSpan(init.parameters()), recipe, &hook);
  // Exactly: the parameters, the two activation buffers of the widest layer
  // (200 x 32), one error buffer of kChunk = 8 columns (200 x 8), the first
  // layer's input block (784 x 8), one target column (200); 32 labels, the
  // 64-sample order and 32 per-sample losses. No model gradient, no
  // activation of any other layer, no whole minibatch copy, no stored P.
  const size_t params = 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10;
  const size_t floats = params + 2 * 200 * 32 + 200 * 8 + 784 * 8 + 200;
  CHECK(TpsgdTrainer::kChunk == 8);
  CHECK(tpsgd.held_bytes() == floats * 4 + 32 * 4 + 64 * 4 + 32 * 8);

  LocalTrainer backprop(spec, data);
  backprop.Train(TpsgdTrainerSpan(init.parameters()), recipe);
  // Backprop holds parameters + a gradient of the whole model + every layer's
  // activations and the backward ping-pong buffers: tpSGD saves at least the
  // whole-model gradient.
  CHECK(backprop.held_bytes() >= 2 * params * 4);
  CHECK(backprop.held_bytes() - tpsgd.held_bytes() >= params * 4);
  MESSAGE("held bytes: tpsgd " << tpsgd.held_bytes() << ", backprop " << backprop.held_bytes());
}

TEST_CASE("tpsgd: LeNet's training state - one pre-pool map, no minibatch copy") {
  const datasets::Dataset data = TpsgdTrainerFashionSubset(0, 64);
  const std::string spec = "cnn:lenet";
  nn::Model init(spec);
  init.Initialize(1);
  TrainRecipe recipe;
  recipe.epochs = 1;
  recipe.batch_size = 32;
  recipe.optimizer.learning_rate = 0.01f;
  LocalTrainer tpsgd(spec, data);
  TpsgdHook hook;
  tpsgd.Train(TpsgdTrainerSpan(init.parameters()), recipe, &hook);
  // Exactly: the parameters; the even layers' outputs (conv1 pooled, 6 x 14 x
  // 14 = 1176, widest of 1176, 120, 10) and the odd layers' (conv2 pooled, 16
  // x 5 x 5 = 400, widest of 400, 84), 32 columns each; the dense layers'
  // error, 120 x 8; ONE sample's pre-pool map and target column (6 x 28 x 28
  // = 4704, the widest); conv2's weight gradient (2416, the largest
  // convolution); the first layer's input block (784 x 8); 32 labels, 32
  // visiting positions, the 64-sample order and 32 per-sample losses.
  const size_t params = 156 + 2416 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10;
  const size_t floats = params + (1176 + 400) * 32 + 120 * 8 + 2 * 4704 + 2416 + 784 * 8;
  CHECK(tpsgd.held_bytes() == floats * 4 + 32 * 4 + 32 * 4 + 64 * 4 + 32 * 8);
}

TEST_CASE("tpsgd: accuracy rises on a small Fashion-MNIST split - mlp and lenet") {
  // 1,000 training images, 500 held out. Measured: mlp 0.12 -> 0.71 (backprop
  // with the same budget 0.70); lenet only 0.08 -> 0.29 (backprop 0.69):
  // LeNet's convolutions learn little from random targets over their
  // pre-pool maps (docs/algorithms.md, tpsgd).
  const datasets::Dataset train = TpsgdTrainerFashionSubset(0, 1000);
  const datasets::Dataset held_out = TpsgdTrainerFashionSubset(50000, 500);
  struct Case {
    std::string spec;
    int epochs;
    float lr;
    double gain;
  };
  for (const Case& c :
       {Case{"mlp:784-200-200-10", 6, 0.02f, 0.4}, Case{"cnn:lenet", 3, 0.05f, 0.1}}) {
    CAPTURE(c.spec);
    nn::Model init(c.spec);
    init.Initialize(2);
    TrainRecipe recipe;
    recipe.epochs = c.epochs;
    recipe.batch_size = 32;
    recipe.optimizer.learning_rate = c.lr;
    recipe.seed = 4;
    TpsgdOptions options;
    options.projection_seed = 5;
    TpsgdTrainer trainer(c.spec, train);
    const LocalTrainResult result =
        trainer.Train(TpsgdTrainerSpan(init.parameters()), recipe, options);
    const double before = Accuracy(c.spec, init.parameters(), held_out);
    const double after = Accuracy(c.spec, result.parameters, held_out);
    MESSAGE(c.spec << ": held-out accuracy " << before << " -> " << after << ", loss "
                   << result.loss_before << " -> " << result.loss_after);
    CHECK(after > before + c.gain);
    CHECK(result.loss_after < result.loss_before);
  }
}

TEST_CASE("tpsgd: refuses an optimizer with state, clipping and a projection head") {
  const datasets::Dataset data = OneSample({1.0f, 2.0f}, 1, 2);
  TpsgdTrainer trainer("mlp:2-2-2", data);
  const Eigen::VectorXf w = HandParameters();
  TrainRecipe momentum = OneStep(0.1f);
  momentum.optimizer.momentum = 0.9f;
  CHECK_THROWS_AS(trainer.Train(TpsgdTrainerSpan(w), momentum, {}), ConfigError);
  TrainRecipe adam = OneStep(0.1f);
  adam.optimizer.name = "adam";
  CHECK_THROWS_AS(trainer.Train(TpsgdTrainerSpan(w), adam, {}), ConfigError);
  TrainRecipe clipped = OneStep(0.1f);
  clipped.clip_norm = 1.0f;
  CHECK_THROWS_AS(trainer.Train(TpsgdTrainerSpan(w), clipped, {}), ConfigError);
  TpsgdOptions bad;
  bad.target_scale = 0.0;
  CHECK_THROWS_AS(trainer.Train(TpsgdTrainerSpan(w), OneStep(0.1f), bad), ConfigError);
  CHECK_THROWS_AS(TpsgdTrainer("mlp:2-2-2+proj", data), ConfigError);
}

}  // namespace
}  // namespace edgefl::train
