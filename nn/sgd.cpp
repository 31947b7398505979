#include "nn/sgd.h"

#include <cmath>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::nn {
namespace {

// g <- g + wd * w;  v <- mu * v + g;  w <- w - lr * (kNesterov ? g + mu * v : v),
// elementwise in one loop. REQUIRES: equal sizes.
template <bool kNesterov, bool kDecay>
void MomentumStep(VectorRef params, const ConstVectorRef& grads, Eigen::VectorXf& velocity,
                  float lr, float mu, float wd) {
  float* w = params.data();
  const float* g = grads.data();
  float* v = velocity.data();
  const Eigen::Index n = params.size();
  for (Eigen::Index i = 0; i < n; ++i) {
    const float gi = kDecay ? g[i] + wd * w[i] : g[i];
    const float vi = mu * v[i] + gi;
    v[i] = vi;
    w[i] -= lr * (kNesterov ? gi + mu * vi : vi);
  }
}

}  // namespace

Sgd::Sgd(const SgdOptions& options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options.momentum >= 0.0f && options.momentum < 1.0f)) {
    throw ConfigError("sgd: momentum must be in [0, 1), got " + ShortNumber(options.momentum));
  }
  if (!(options.weight_decay >= 0.0f) || !std::isfinite(options.weight_decay)) {
    throw ConfigError("sgd: weight_decay must be >= 0, got " + ShortNumber(options.weight_decay));
  }
  if (options.nesterov && options.momentum == 0.0f) {
    throw ConfigError("sgd: nesterov requires momentum > 0");
  }
}

std::string Sgd::Describe() const {
  return "sgd(lr=" + ShortNumber(learning_rate()) + ", momentum=" + ShortNumber(options_.momentum) +
         (options_.nesterov ? ", nesterov" : "") +
         ", weight_decay=" + ShortNumber(options_.weight_decay) + ")";
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
  // One pass over params, grads and velocity (the Eigen expressions took two
  // over vectors larger than the L2 cache).
  if (options_.nesterov && wd != 0.0f) {
    MomentumStep<true, true>(params, grads, velocity_, lr, mu, wd);
  } else if (options_.nesterov) {
    MomentumStep<true, false>(params, grads, velocity_, lr, mu, wd);
  } else if (wd != 0.0f) {
    MomentumStep<false, true>(params, grads, velocity_, lr, mu, wd);
  } else {
    MomentumStep<false, false>(params, grads, velocity_, lr, mu, wd);
  }
}

}  // namespace edgefl::nn
