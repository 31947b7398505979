#include "analysis/hidden_layer.h"

#include "common/error.h"

namespace edgefl::analysis {

HiddenLayer::HiddenLayer(const nn::ModelSpec& spec, int layer) : layer_(layer) {
  if (spec.kind != nn::ModelKind::kMlp || spec.projection_head) {
    throw ConfigError("landscape analysis needs an mlp model (mlp:D-H-...-K without +proj), got " +
                      spec.text);
  }
  const int hidden = static_cast<int>(spec.widths.size()) - 2;
  if (hidden < 1) {
    throw ConfigError("model " + spec.text + " has no hidden layer to drop neurons from");
  }
  if (layer < 0 || layer >= hidden) {
    throw ConfigError("hidden layer " + std::to_string(layer) + " of " + spec.text +
                      " does not exist (valid: 0 to " + std::to_string(hidden - 1) + ")");
  }
  hidden_layers_ = hidden;
  const auto& w = spec.widths;
  Eigen::Index offset = 0;
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    const Eigen::Index size = Eigen::Index{w[i]} * w[i + 1] + w[i + 1];
    if (static_cast<int>(i) == layer) in_offset_ = offset;
    if (static_cast<int>(i) == layer + 1) out_offset_ = offset;
    offset += size;
  }
  total_ = offset;
  inputs_ = w[static_cast<size_t>(layer)];
  neurons_ = w[static_cast<size_t>(layer) + 1];
  outputs_ = w[static_cast<size_t>(layer) + 2];
}

void HiddenLayer::CopyInputWeights(Eigen::Index j, const Eigen::VectorXf& from,
                                   Eigen::VectorXf& to) const {
  for (Eigen::Index i = 0; i < inputs_; ++i)
    to[InputWeight(j, i)] = from[InputWeight(j, i)];
  to[Bias(j)] = from[Bias(j)];
}

void HiddenLayer::ScaleOutputWeights(Eigen::Index j, float factor, Eigen::VectorXf& params) const {
  for (Eigen::Index k = 0; k < outputs_; ++k)
    params[OutputWeight(j, k)] *= factor;
}

}  // namespace edgefl::analysis
