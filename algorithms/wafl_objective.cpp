#include "algorithms/wafl_objective.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "nn/softmax_cross_entropy.h"

namespace edgefl::algorithms {
namespace {

void RequireNonNegative(float value, const char* key) {
  if (!(std::isfinite(value) && value >= 0.0f)) {
    throw ConfigError(std::string("wafl: ") + key + " must be a finite value >= 0, got " +
                      std::to_string(value));
  }
}

}  // namespace

WaflObjective::WaflObjective(const WaflOptions& options) : options_(options) {
  RequireNonNegative(options.gamma, "gamma");
  RequireNonNegative(options.adv_step, "adv_step");
  RequireNonNegative(options.init_noise, "init_noise");
  RequireNonNegative(options.adv_tol, "adv_tol");
  if (options.adv_steps < 0) {
    throw ConfigError("wafl: adv_steps must be >= 0, got " + std::to_string(options.adv_steps));
  }
  if (options.adv_step * options.gamma >= 2.0f) {
    throw ConfigError("wafl: adv_step * gamma must be < 2 (the inner ascent diverges), got " +
                      std::to_string(options.adv_step) + " * " + std::to_string(options.gamma));
  }
  inner_objective_.reserve(static_cast<size_t>(options.adv_steps) + 1);
}

float WaflObjective::LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) {
  const Eigen::Index b = batch.size();
  const float batch_size = static_cast<float>(b);
  const double half_gamma = 0.5 * static_cast<double>(options_.gamma);
  x_adv_ = batch.x;
  if (options_.init_noise > 0.0f) {
    float* values = x_adv_.data();
    for (Eigen::Index i = 0; i < x_adv_.size(); ++i) {
      values[i] += options_.init_noise * static_cast<float>(rng.Uniform());
    }
  }
  inner_objective_.clear();
  inner_steps_ = 0;
  nn::BackwardOptions backward;
  backward.dinput = &dx_;
  backward.parameter_gradients = false;  // the ascent needs dL/dX only
  for (int t = 0; t < options_.adv_steps; ++t) {
    const float loss = nn::SoftmaxCrossEntropy(model.Forward(x_adv_), batch.labels, &dlogits_);
    model.Backward(x_adv_, dlogits_, backward);
    direction_ = x_adv_ - batch.x;
    inner_objective_.push_back(static_cast<double>(loss) -
                               half_gamma * static_cast<double>(direction_.squaredNorm()) / b);
    // ∇_{x_i}[ℓ_i − (γ/2)‖x_adv_i − x_i‖²] = B·dX_i − γ(x_adv_i − x_i).
    direction_ = batch_size * dx_ - options_.gamma * direction_;
    if (direction_.norm() < options_.adv_tol) break;
    x_adv_ += options_.adv_step * direction_;
    ++inner_steps_;
  }
  const float loss = model.LossAndGradient(x_adv_, batch.labels);
  inner_objective_.push_back(static_cast<double>(loss) -
                             half_gamma * static_cast<double>((x_adv_ - batch.x).squaredNorm()) /
                                 b);
  return loss;
}

}  // namespace edgefl::algorithms
