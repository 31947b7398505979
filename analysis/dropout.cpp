#include "analysis/dropout.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "analysis/model_loss.h"
#include "common/error.h"
#include "common/random.h"

namespace edgefl::analysis {

Eigen::VectorXf KeepNeurons(const HiddenLayer& layer, const Eigen::VectorXf& params,
                            const std::vector<bool>& keep) {
  if (params.size() != layer.num_parameters()) {
    throw ConfigError("dropout: the model has " + std::to_string(params.size()) +
                      " parameters, the spec needs " + std::to_string(layer.num_parameters()));
  }
  if (static_cast<Eigen::Index>(keep.size()) != layer.neurons()) {
    throw ConfigError("dropout: a keep mask of " + std::to_string(keep.size()) +
                      " neurons for a layer of " + std::to_string(layer.neurons()));
  }
  const auto kept = static_cast<Eigen::Index>(std::count(keep.begin(), keep.end(), true));
  if (kept == 0) throw ConfigError("dropout: keeps no neuron");
  const auto scale =
      static_cast<float>(static_cast<double>(layer.neurons()) / static_cast<double>(kept));
  Eigen::VectorXf out = params;
  for (Eigen::Index j = 0; j < layer.neurons(); ++j) {
    if (keep[static_cast<size_t>(j)]) {
      if (kept != layer.neurons()) layer.ScaleOutputWeights(j, scale, out);
    } else {
      for (Eigen::Index k = 0; k < layer.outputs(); ++k)
        out[layer.OutputWeight(j, k)] = 0.0f;
    }
  }
  return out;
}

DropoutCurve MeasureDropoutStability(nn::Model& model, const Eigen::VectorXf& params,
                                     const datasets::Dataset& data, const HiddenLayer& layer,
                                     std::span<const double> fractions, int draws, uint64_t seed) {
  if (draws < 1) throw ConfigError("dropout: draws must be >= 1");
  for (double f : fractions) {
    if (!(f > 0.0 && f <= 1.0)) {
      throw ConfigError("dropout: fraction " + std::to_string(f) + " is not in (0, 1]");
    }
  }
  const Eigen::Index n = layer.neurons();
  DropoutCurve curve;
  curve.full_loss = MeanLoss(model, params, data);
  std::vector<std::vector<Eigen::Index>> orders(static_cast<size_t>(draws));
  for (int d = 0; d < draws; ++d) {
    auto& order = orders[static_cast<size_t>(d)];
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    Rng rng = Rng::Derive(seed, {static_cast<uint64_t>(d)});
    rng.Shuffle(order);
  }
  for (double f : fractions) {
    DropoutPoint point;
    point.fraction = f;
    point.kept = std::clamp<Eigen::Index>(
        static_cast<Eigen::Index>(std::llround(f * static_cast<double>(n))), 1, n);
    point.loss_min = std::numeric_limits<double>::infinity();
    point.loss_max = -std::numeric_limits<double>::infinity();
    double sum = 0.0;
    for (const auto& order : orders) {
      std::vector<bool> keep(static_cast<size_t>(n), false);
      for (Eigen::Index i = 0; i < point.kept; ++i)
        keep[static_cast<size_t>(order[static_cast<size_t>(i)])] = true;
      const double loss = MeanLoss(model, KeepNeurons(layer, params, keep), data);
      sum += loss;
      point.loss_min = std::min(point.loss_min, loss);
      point.loss_max = std::max(point.loss_max, loss);
    }
    // Equal losses (every neuron kept) give that loss exactly, not a
    // rounded sum divided back.
    point.loss_mean =
        point.loss_min == point.loss_max ? point.loss_min : sum / static_cast<double>(draws);
    curve.points.push_back(point);
  }
  return curve;
}

}  // namespace edgefl::analysis
