// Stochastic gradient descent with momentum, Nesterov momentum and (coupled,
// L2) weight decay, with PyTorch's torch.optim.SGD semantics (dampening 0):
//   g <- g + wd * w;  v <- mu * v + g;  w <- w - lr * (nesterov ? g + mu * v : v)
// Momentum: Polyak 1964, "Some methods of speeding up the convergence of
// iteration methods"; Nesterov form as in Sutskever et al. 2013, "On the
// importance of initialization and momentum in deep learning" (ICML).
#pragma once

#include <string>

#include "nn/optimizer.h"

namespace edgefl::nn {

struct SgdOptions {
  float learning_rate = 0.01f;  // lr >= 0
  float momentum = 0.0f;        // mu in [0, 1); 0 = plain SGD (no state)
  bool nesterov = false;        // REQUIRES momentum > 0
  float weight_decay = 0.0f;    // wd >= 0, added to the gradient
};

class Sgd final : public Optimizer {
 public:
  // Throws ConfigError for an out-of-range option.
  explicit Sgd(const SgdOptions& options);

  void Step(VectorRef params, const ConstVectorRef& grads) override;
  void Reset() override { velocity_.resize(0); }
  std::string Describe() const override;

  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  Eigen::VectorXf velocity_;
};

}  // namespace edgefl::nn
