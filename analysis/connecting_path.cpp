#include "analysis/connecting_path.h"

#include <algorithm>
#include <string>

#include "analysis/dropout.h"
#include "analysis/model_loss.h"
#include "common/error.h"

namespace edgefl::analysis {

Eigen::VectorXf Interpolate(const Eigen::VectorXf& a, const Eigen::VectorXf& b, double t) {
  const auto tf = static_cast<float>(t);
  if (t < 0.5) return a + tf * (b - a);
  return b - static_cast<float>(1.0 - t) * (b - a);
}

std::vector<Eigen::VectorXf> DropoutPathCorners(const HiddenLayer& layer, const Eigen::VectorXf& a,
                                                const Eigen::VectorXf& b) {
  if (layer.hidden_layers() != 1) {
    throw ConfigError(
        "the dropout path is built for an mlp with one hidden layer (mlp:D-H-K, the paper's "
        "two-layer network); this model has " +
        std::to_string(layer.hidden_layers()) + " hidden layers");
  }
  const Eigen::Index n = layer.neurons();
  if (n < 2) throw ConfigError("the dropout path needs at least 2 hidden neurons");
  if (a.size() != layer.num_parameters() || b.size() != layer.num_parameters()) {
    throw ConfigError("the dropout path: models of " + std::to_string(a.size()) + " and " +
                      std::to_string(b.size()) + " parameters, the spec needs " +
                      std::to_string(layer.num_parameters()));
  }
  const Eigen::Index half = n / 2;
  std::vector<bool> keep_a(static_cast<size_t>(n), false);
  std::vector<bool> keep_b(static_cast<size_t>(n), true);
  for (Eigen::Index j = 0; j < half; ++j) {
    keep_a[static_cast<size_t>(j)] = true;
    keep_b[static_cast<size_t>(j)] = false;
  }
  std::vector<Eigen::VectorXf> p(6);
  p[0] = a;
  p[1] = KeepNeurons(layer, a, keep_a);
  p[2] = p[1];
  for (Eigen::Index j = half; j < n; ++j)
    layer.CopyInputWeights(j, b, p[2]);
  // P3: the input layer as in P2, the output layer (weights and bias) of
  // θ_B restricted to S_B. With one hidden layer the output layer is the
  // tail of the vector from the first output weight on.
  const Eigen::VectorXf b_kept = KeepNeurons(layer, b, keep_b);
  const Eigen::Index top = layer.OutputWeight(0, 0);
  p[3] = p[2];
  p[3].tail(p[3].size() - top) = b_kept.tail(b_kept.size() - top);
  p[4] = p[3];
  for (Eigen::Index j = 0; j < half; ++j)
    layer.CopyInputWeights(j, b, p[4]);
  p[5] = b;
  return p;
}

PathProfile MeasurePath(nn::Model& model, const std::vector<Eigen::VectorXf>& corners,
                        const datasets::Dataset& data, int points_per_piece) {
  if (corners.size() < 2) throw ConfigError("a path needs at least 2 corners");
  if (points_per_piece < 1) throw ConfigError("a path needs at least 1 point per piece");
  const size_t pieces = corners.size() - 1;
  PathProfile profile;
  for (size_t piece = 0; piece < pieces; ++piece) {
    for (int k = piece == 0 ? 0 : 1; k <= points_per_piece; ++k) {
      const double s = static_cast<double>(k) / points_per_piece;
      profile.t.push_back((static_cast<double>(piece) + s) / static_cast<double>(pieces));
      profile.loss.push_back(
          MeanLoss(model, Interpolate(corners[piece], corners[piece + 1], s), data));
    }
  }
  profile.loss_a = profile.loss.front();
  profile.loss_b = profile.loss.back();
  const double worst = *std::max_element(profile.loss.begin(), profile.loss.end());
  profile.barrier = worst - std::max(profile.loss_a, profile.loss_b);
  return profile;
}

}  // namespace edgefl::analysis
