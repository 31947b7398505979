#include "algorithms/noisy_softmax_objective.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_text.h"
#include "nn/softmax_cross_entropy.h"

namespace edgefl::algorithms {

NoisySoftmaxObjective::NoisySoftmaxObjective(const NoisySoftmaxOptions& options)
    : options_(options) {
  if (!(std::isfinite(options.alpha) && options.alpha >= 0.0)) {
    throw ConfigError("noisy_softmax: noise_alpha must be a finite value >= 0, got " +
                      ShortNumber(options.alpha));
  }
}

float NoisySoftmaxObjective::LossAndGradient(nn::Model& model, const train::Batch& batch,
                                             Rng& rng) {
  if (options_.alpha == 0.0) {
    clean_loss_ = model.LossAndGradient(batch.x, batch.labels);
    return clean_loss_;
  }
  const size_t last = model.num_layers() - 1;
  const Eigen::Index classes = model.num_classes();
  const Eigen::Index dim = model.layer(last).input_size();
  if (model.layer(last).num_parameters() != classes * dim + classes) {
    throw ConfigError("noisy_softmax: the last layer of " + model.spec().text + " is not dense");
  }
  logits_ = model.Forward(batch.x);
  clean_loss_ = nn::SoftmaxCrossEntropy(logits_, batch.labels, nullptr);
  const Eigen::Map<const Eigen::MatrixXf> features =
      model.num_layers() >= 2
          ? model.features()
          : Eigen::Map<const Eigen::MatrixXf>(batch.x.data(), dim, batch.size());
  // W is classes x dim, column-major (nn/dense.h).
  const Eigen::Map<const Eigen::MatrixXf> weights(
      model.parameters().data() + model.parameter_offset(last), classes, dim);

  // z̃_y = z_y + s·(W_y·x − ‖W_y‖‖x‖) with s = α|ξ|; remember s per sample.
  const Eigen::Index b_count = batch.size();
  dfeatures_.setZero(dim, b_count);
  dweights_.setZero(classes, dim);
  scales_.resize(static_cast<size_t>(b_count));
  for (Eigen::Index b = 0; b < b_count; ++b) {
    const int y = batch.labels[static_cast<size_t>(b)];
    const float s = static_cast<float>(options_.alpha * std::abs(rng.Normal()));
    scales_[static_cast<size_t>(b)] = s;
    const float w_norm = weights.row(y).norm();
    const float x_norm = features.col(b).norm();
    const float dot = weights.row(y).dot(features.col(b));
    logits_(y, b) += s * (dot - w_norm * x_norm);
  }
  const float loss = nn::SoftmaxCrossEntropy(logits_, batch.labels, &dlogits_);
  // d s(W_y·x − ‖W_y‖‖x‖)/dx = s(W_y − ‖W_y‖ x/‖x‖); .../dW_y = s(x − ‖x‖ W_y/‖W_y‖).
  for (Eigen::Index b = 0; b < b_count; ++b) {
    const int y = batch.labels[static_cast<size_t>(b)];
    const float g = dlogits_(y, b) * scales_[static_cast<size_t>(b)];
    const float w_norm = weights.row(y).norm();
    const float x_norm = features.col(b).norm();
    dfeatures_.col(b) = g * weights.row(y).transpose();
    if (x_norm > 0.0f) dfeatures_.col(b) -= (g * w_norm / x_norm) * features.col(b);
    dweights_.row(y) += g * features.col(b).transpose();
    if (w_norm > 0.0f) dweights_.row(y) -= (g * x_norm / w_norm) * weights.row(y);
  }
  nn::BackwardOptions backward;
  backward.overwrite_gradients = true;
  if (model.num_layers() >= 2) backward.dfeatures = &dfeatures_;
  model.Backward(batch.x, dlogits_, backward);
  Eigen::Map<Eigen::MatrixXf>(model.gradients().data() + model.parameter_offset(last), classes,
                              dim) += dweights_;
  return loss;
}

}  // namespace edgefl::algorithms
