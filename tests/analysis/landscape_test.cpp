// The landscape measures (analysis/): the dropout path's ends and free
// moves, dropout with every neuron kept, barriers of a model with itself,
// and the errors a user sees for a model they do not apply to.
#include <vector>

#include <doctest/doctest.h>

#include "analysis/connecting_path.h"
#include "analysis/dropout.h"
#include "analysis/hidden_layer.h"
#include "analysis/model_loss.h"
#include "common/error.h"
#include "common/random.h"
#include "datasets/dataset.h"
#include "nn/model.h"
#include "nn/model_spec.h"

namespace edgefl::analysis {
namespace {

datasets::Dataset RandomData(int n, int d, int classes, uint64_t seed) {
  Rng rng(seed);
  datasets::Dataset data;
  data.name = "random";
  data.num_classes = classes;
  data.sample_shape = {d};
  data.features.resize(n, d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j)
      data.features(i, j) = static_cast<float>(rng.Normal());
    data.labels.push_back(static_cast<int32_t>(rng.UniformInt(static_cast<uint64_t>(classes))));
  }
  return data;
}

Eigen::VectorXf Initialized(nn::Model& model, uint64_t seed) {
  model.Initialize(seed);
  // Non-zero biases, so moving a neuron's bias is exercised too.
  Rng rng(seed + 100);
  Eigen::VectorXf p = model.parameters();
  for (Eigen::Index i = 0; i < p.size(); ++i)
    p[i] += static_cast<float>(0.1 * rng.Normal());
  return p;
}

bool Same(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return a.size() == b.size() && (a.array() == b.array()).all();
}

TEST_CASE("the dropout path starts at theta_A and ends at theta_B exactly") {
  const datasets::Dataset data = RandomData(64, 5, 3, 1);
  nn::Model model("mlp:5-8-3");
  const Eigen::VectorXf a = Initialized(model, 1);
  const Eigen::VectorXf b = Initialized(model, 2);
  const HiddenLayer layer(model.spec(), 0);
  const std::vector<Eigen::VectorXf> corners = DropoutPathCorners(layer, a, b);
  REQUIRE(corners.size() == 6);
  CHECK(Same(corners.front(), a));
  CHECK(Same(corners.back(), b));
  CHECK(Same(Interpolate(a, b, 0.0), a));
  CHECK(Same(Interpolate(a, b, 1.0), b));
  const PathProfile profile = MeasurePath(model, corners, data, 4);
  REQUIRE(profile.loss.size() == 5 * 4 + 1);
  CHECK(profile.t.front() == 0.0);
  CHECK(profile.t.back() == 1.0);
  CHECK(profile.loss_a == MeanLoss(model, a, data));
  CHECK(profile.loss_b == MeanLoss(model, b, data));
  CHECK(profile.barrier >= 0.0);
}

TEST_CASE("moving dropped neurons' input weights leaves the loss unchanged exactly") {
  const datasets::Dataset data = RandomData(64, 5, 3, 3);
  nn::Model model("mlp:5-7-3");  // odd width: halves of 3 and 4
  const Eigen::VectorXf a = Initialized(model, 3);
  const Eigen::VectorXf b = Initialized(model, 4);
  const HiddenLayer layer(model.spec(), 0);
  const std::vector<Eigen::VectorXf> corners = DropoutPathCorners(layer, a, b);
  constexpr int kPoints = 6;
  const PathProfile profile = MeasurePath(model, corners, data, kPoints);
  // Pieces 1 (P1 -> P2) and 3 (P3 -> P4) are the free moves: every sample
  // equals the loss at the piece's start, bit for bit.
  for (int piece : {1, 3}) {
    const double start = profile.loss[static_cast<size_t>(piece * kPoints)];
    for (int k = 1; k <= kPoints; ++k) {
      CHECK(profile.loss[static_cast<size_t>(piece * kPoints + k)] == start);
    }
  }
  // And the corners really differ there (the move is not empty).
  CHECK(!Same(corners[1], corners[2]));
  CHECK(!Same(corners[3], corners[4]));
  // The output-layer pieces are convex: no sample above the piece's worse end.
  for (int piece : {0, 2, 4}) {
    const double ends = std::max(profile.loss[static_cast<size_t>(piece * kPoints)],
                                 profile.loss[static_cast<size_t>((piece + 1) * kPoints)]);
    for (int k = 0; k <= kPoints; ++k) {
      CHECK(profile.loss[static_cast<size_t>(piece * kPoints + k)] <= ends + 1e-6);
    }
  }
  // P1 is θ_A's dropout network on its first half, P3/P4 θ_B's on the rest.
  std::vector<bool> first(7, false), rest(7, true);
  for (size_t j = 0; j < 3; ++j) {
    first[j] = true;
    rest[j] = false;
  }
  CHECK(profile.loss[kPoints] == MeanLoss(model, KeepNeurons(layer, a, first), data));
  CHECK(profile.loss[4 * kPoints] == MeanLoss(model, KeepNeurons(layer, b, rest), data));
  CHECK(Same(corners[4], KeepNeurons(layer, b, rest)));
}

TEST_CASE("keeping neurons rescales their output weights and zeroes the others") {
  nn::Model model("mlp:2-4-2");
  Eigen::VectorXf p(model.num_parameters());
  for (Eigen::Index i = 0; i < p.size(); ++i)
    p[i] = static_cast<float>(i + 1);
  const HiddenLayer layer(model.spec(), 0);
  // Layer 0: W 4x2 (8) + b (4) = 12 values; layer 1: W 2x4 column-major,
  // column j = neuron j's output weights at 12 + 2j, 13 + 2j; then b (2).
  CHECK(layer.OutputWeight(1, 0) == 14);
  CHECK(layer.InputWeight(3, 1) == 7);
  CHECK(layer.Bias(2) == 10);
  const Eigen::VectorXf kept = KeepNeurons(layer, p, {true, false, true, false});
  CHECK(kept[12] == 26.0f);  // 13 x 4/2
  CHECK(kept[13] == 28.0f);
  CHECK(kept[14] == 0.0f);
  CHECK(kept[15] == 0.0f);
  CHECK(kept[16] == 34.0f);
  CHECK(kept[18] == 0.0f);
  CHECK(kept.head(12) == p.head(12));  // input weights and biases unchanged
  CHECK(kept.tail(2) == p.tail(2));    // output bias unchanged
  CHECK(Same(KeepNeurons(layer, p, {true, true, true, true}), p));
  CHECK_THROWS_AS(KeepNeurons(layer, p, {false, false, false, false}), ConfigError);
  CHECK_THROWS_AS(KeepNeurons(layer, p, {true, true}), ConfigError);
}

TEST_CASE("dropout with fraction 1 gives the original loss") {
  const datasets::Dataset data = RandomData(80, 6, 4, 5);
  nn::Model model("mlp:6-10-9-4");
  const Eigen::VectorXf p = Initialized(model, 5);
  for (int layer_index : {0, 1}) {
    const HiddenLayer layer(model.spec(), layer_index);
    const std::vector<double> fractions = {0.25, 0.5, 1.0};
    const DropoutCurve curve =
        MeasureDropoutStability(model, p, data, layer, fractions, 3, /*seed=*/7);
    REQUIRE(curve.points.size() == 3);
    CHECK(curve.full_loss == MeanLoss(model, p, data));
    CHECK(curve.points[2].kept == layer.neurons());
    CHECK(curve.points[2].loss_mean == curve.full_loss);
    CHECK(curve.points[2].loss_min == curve.full_loss);
    CHECK(curve.points[2].loss_max == curve.full_loss);
    CHECK(curve.points[0].kept == (layer_index == 0 ? 3 : 2));  // round(0.25 N)
    CHECK(curve.points[0].loss_mean != curve.full_loss);
    // Deterministic given the seed.
    const DropoutCurve again = MeasureDropoutStability(model, p, data, layer, fractions, 3, 7);
    CHECK(again.points[0].loss_mean == curve.points[0].loss_mean);
  }
  const HiddenLayer layer(model.spec(), 0);
  const std::vector<double> bad = {0.0};
  CHECK_THROWS_AS(MeasureDropoutStability(model, p, data, layer, bad, 1, 1), ConfigError);
}

TEST_CASE("the straight-line barrier of a model with itself is 0") {
  const datasets::Dataset data = RandomData(50, 4, 3, 9);
  nn::Model model("mlp:4-6-3");
  const Eigen::VectorXf a = Initialized(model, 9);
  const PathProfile line = MeasurePath(model, {a, a}, data, 10);
  CHECK(line.barrier == 0.0);
  for (double loss : line.loss)
    CHECK(loss == line.loss_a);
  // The dropout path of a model with itself rises by its dropout gaps only.
  const HiddenLayer layer(model.spec(), 0);
  const PathProfile path = MeasurePath(model, DropoutPathCorners(layer, a, a), data, 3);
  std::vector<bool> first = {true, true, true, false, false, false};
  std::vector<bool> rest = {false, false, false, true, true, true};
  const double worst = std::max({line.loss_a, MeanLoss(model, KeepNeurons(layer, a, first), data),
                                 MeanLoss(model, KeepNeurons(layer, a, rest), data)});
  CHECK(path.barrier == doctest::Approx(worst - line.loss_a).epsilon(1e-9));
}

TEST_CASE("models the measures do not apply to are refused naming why") {
  CHECK_THROWS_WITH_AS(HiddenLayer(nn::ParseModelSpec("cnn:lenet"), 0),
                       doctest::Contains("needs an mlp model"), ConfigError);
  CHECK_THROWS_WITH_AS(HiddenLayer(nn::ParseModelSpec("mlp:5-3"), 0),
                       doctest::Contains("no hidden layer"), ConfigError);
  CHECK_THROWS_WITH_AS(HiddenLayer(nn::ParseModelSpec("mlp:5-8-3"), 1),
                       doctest::Contains("valid: 0 to 0"), ConfigError);
  nn::Model deep("mlp:5-8-8-3");
  const HiddenLayer layer(deep.spec(), 0);
  const Eigen::VectorXf p = Eigen::VectorXf::Zero(deep.num_parameters());
  CHECK_THROWS_WITH_AS(DropoutPathCorners(layer, p, p), doctest::Contains("one hidden layer"),
                       ConfigError);
  nn::Model model("mlp:5-8-3");
  const HiddenLayer shallow(model.spec(), 0);
  const Eigen::VectorXf q = Eigen::VectorXf::Zero(model.num_parameters());
  CHECK_THROWS_AS(DropoutPathCorners(shallow, q, Eigen::VectorXf::Zero(3)), ConfigError);
}

}  // namespace
}  // namespace edgefl::analysis
