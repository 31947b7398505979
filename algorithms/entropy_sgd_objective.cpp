#include "algorithms/entropy_sgd_objective.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {

EntropySgdObjective::EntropySgdObjective(const EntropySgdOptions& options) : options_(options) {
  RequireOption("entropy_sgd", options.langevin_steps >= 0, "langevin_steps", ">= 0",
                options.langevin_steps);
  RequireOption("entropy_sgd", std::isfinite(options.langevin_lr) && options.langevin_lr > 0.0,
                "langevin_lr", "> 0", options.langevin_lr);
  RequireOption("entropy_sgd", std::isfinite(options.noise) && options.noise >= 0.0,
                "langevin_noise", ">= 0", options.noise);
  RequireOption("entropy_sgd", options.beta1 >= 0.0 && options.beta1 < 1.0, "beta1", "in [0, 1)",
                options.beta1);
  RequireOption("entropy_sgd", std::isfinite(options.gamma0) && options.gamma0 >= 0.0, "gamma0",
                ">= 0", options.gamma0);
  RequireOption("entropy_sgd", std::isfinite(options.gamma1) && options.gamma1 >= 0.0, "gamma1",
                ">= 0", options.gamma1);
}

void EntropySgdObjective::SetStepOffset(int64_t step_offset) {
  RequireOption("entropy_sgd", step_offset >= 0, "step_offset", ">= 0",
                static_cast<double>(step_offset));
  step_offset_ = step_offset;
}

void EntropySgdObjective::BeginRound(const nn::Model& /*model*/, Rng& /*rng*/) {
  steps_ = 0;
}

double EntropySgdObjective::scope() const {
  return options_.gamma0 *
         std::pow(1.0 + options_.gamma1, static_cast<double>(step_offset_ + steps_));
}

float EntropySgdObjective::LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) {
  // f_B(x) and ∇f_B(x), which is also the first inner step's gradient (x' = x).
  const float loss = model.LossAndGradient(batch.x, batch.labels);
  if (options_.langevin_steps == 0) {
    ++steps_;
    return loss;
  }
  const float gamma = static_cast<float>(scope());
  const float lr = static_cast<float>(options_.langevin_lr);
  const float noise_scale =
      static_cast<float>(options_.noise * std::sqrt(2.0 * options_.langevin_lr));
  const float beta1 = static_cast<float>(options_.beta1);
  x_ = model.parameters();  // the model's parameters now play x'
  mu_ = x_;
  Eigen::VectorXf& xp = model.parameters();
  for (int l = 0; l < options_.langevin_steps; ++l) {
    if (l > 0) model.LossAndGradient(batch.x, batch.labels);
    xp -= lr * (model.gradients() - gamma * (x_ - xp));
    if (noise_scale > 0.0f) {
      for (Eigen::Index i = 0; i < xp.size(); ++i) {
        xp[i] += noise_scale * static_cast<float>(rng.Normal());
      }
    }
    mu_ = beta1 * mu_ + (1.0f - beta1) * xp;
  }
  xp.swap(x_);  // back to x, bit for bit
  model.gradients() = model.parameters() - mu_;
  ++steps_;
  return loss;
}

}  // namespace edgefl::algorithms
