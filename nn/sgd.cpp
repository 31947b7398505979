#include "nn/sgd.h"

#include <cmath>

#include "common/error.h"

namespace edgefl::nn {

Sgd::Sgd(const SgdOptions& options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options.momentum >= 0.0f && options.momentum < 1.0f)) {
    throw ConfigError("sgd: momentum must be in [0, 1), got " + std::to_string(options.momentum));
  }
  if (!(options.weight_decay >= 0.0f) || !std::isfinite(options.weight_decay)) {
    throw ConfigError("sgd: weight_decay must be >= 0, got " +
                      std::to_string(options.weight_decay));
  }
  if (options.nesterov && options.momentum == 0.0f) {
    throw ConfigError("sgd: nesterov requires momentum > 0");
  }
}

std::string Sgd::Describe() const {
  return "sgd(lr=" + std::to_string(learning_rate()) +
         ", momentum=" + std::to_string(options_.momentum) +
         (options_.nesterov ? ", nesterov" : "") +
         ", weight_decay=" + std::to_string(options_.weight_decay) + ")";
}

void Sgd::Step(VectorRef params, const ConstVectorRef& grads) {
  const float lr = learning_rate(), mu = options_.momentum, wd = options_.weight_decay;
  if (mu == 0.0f) {
    if (params.size() != grads.size()) {
      Eigen::VectorXf unused;
      CheckSizes(params, grads, unused, "");
    }
    if (wd == 0.0f) {
      params.noalias() -= lr * grads;
    } else {
      params = params - lr * (grads + wd * params);
    }
    return;
  }
  CheckSizes(params, grads, velocity_, "momentum");
  if (wd == 0.0f) {
    velocity_ = mu * velocity_ + grads;
    if (options_.nesterov) {
      params.noalias() -= lr * (grads + mu * velocity_);
    } else {
      params.noalias() -= lr * velocity_;
    }
  } else {
    velocity_ = mu * velocity_ + grads + wd * params;
    if (options_.nesterov) {
      params = params - lr * (grads + wd * params + mu * velocity_);
    } else {
      params.noalias() -= lr * velocity_;
    }
  }
}

}  // namespace edgefl::nn
