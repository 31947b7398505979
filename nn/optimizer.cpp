#include "nn/optimizer.h"

#include <cmath>

#include "common/error.h"

namespace edgefl::nn {

void Optimizer::set_learning_rate(float lr) {
  if (!(lr >= 0.0f) || !std::isfinite(lr)) {
    throw ConfigError("learning rate must be a finite value >= 0, got " + std::to_string(lr));
  }
  learning_rate_ = lr;
}

void Optimizer::CheckSizes(const VectorRef& params, const ConstVectorRef& grads,
                           Eigen::VectorXf& state, const char* name) const {
  if (params.size() != grads.size()) {
    throw ConfigError(Describe() + ": " + std::to_string(params.size()) + " parameters but " +
                      std::to_string(grads.size()) + " gradients");
  }
  if (state.size() == 0) {
    state = Eigen::VectorXf::Zero(params.size());
  } else if (state.size() != params.size()) {
    throw ConfigError(Describe() + ": " + name + " state has size " + std::to_string(state.size()) +
                      " but the step has " + std::to_string(params.size()) +
                      " parameters (call Reset first)");
  }
}

}  // namespace edgefl::nn
