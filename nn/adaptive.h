// The diagonal-scaling family as one parameterised optimizer:
//
//   Adam    (Kingma & Ba 2015, "Adam: A method for stochastic optimization";
//            decoupled weight decay = AdamW, Loshchilov & Hutter 2019,
//            "Decoupled weight decay regularization"), PyTorch semantics:
//              m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
//              w <- w - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//   RMSProp (Tieleman & Hinton 2012, Lecture 6.5 of "Neural networks for
//            machine learning"), PyTorch semantics with alpha = beta2:
//              v <- b2 v + (1-b2) g^2;  w <- w - lr * g / (sqrt(v) + eps)
//   OASIS   (Jahani et al. 2022, "Doubly adaptive scaled algorithm for machine
//            learning using second-order information", ICLR), with a
//            Hutchinson estimate of the Hessian diagonal from a Rademacher z:
//              D <- b2 D + (1-b2) |z * (H z)|   (D <- |z * (H z)| on the first step)
//              w <- w - lr * g / max(alpha, D)
//            H z comes from a callback (e.g. Model::HessianVectorProduct on
//            the current batch), which must evaluate at the current params.
//
// Decoupled weight decay (w <- w - lr * wd * w before the update) applies to
// every variant. State (moments, D, step count, the Rademacher stream) is
// carried between calls and rounds until Reset().
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/random.h"
#include "nn/optimizer.h"

namespace edgefl::nn {

enum class Scaling { kAdam, kRmsProp, kOasis };

struct AdaptiveOptions {
  Scaling scaling = Scaling::kAdam;
  float learning_rate = 1e-3f;  // >= 0
  float beta1 = 0.9f;           // Adam's first-moment decay in [0, 1); unused otherwise
  float beta2 = 0.999f;         // decay of v (Adam, RMSProp's alpha) or D (OASIS), in [0, 1)
  float epsilon = 1e-8f;        // Adam/RMSProp: added to the root, > 0
  float alpha = 1e-4f;          // OASIS: floor of the diagonal, > 0
  float weight_decay = 0.0f;    // decoupled, >= 0
  uint64_t seed = 0;            // OASIS: Rademacher stream
};

// Options with PyTorch's defaults for each variant.
AdaptiveOptions AdamOptions(float learning_rate = 1e-3f, float weight_decay = 0.0f);
AdaptiveOptions RmsPropOptions(float learning_rate = 1e-2f);
AdaptiveOptions OasisOptions(float learning_rate = 1e-1f);

// hz = H z for the loss at the current parameters. REQUIRES: resizes or
// fills *hz to z.size().
using HessianVectorProductFn = std::function<void(const Eigen::VectorXf& z, Eigen::VectorXf* hz)>;

class AdaptiveOptimizer final : public Optimizer {
 public:
  // Throws ConfigError for an out-of-range option.
  explicit AdaptiveOptimizer(const AdaptiveOptions& options);

  // Required before Step for Scaling::kOasis.
  void set_hessian_vector_product(HessianVectorProductFn hvp) { hvp_ = std::move(hvp); }

  // Throws ConfigError as Optimizer::Step, and for OASIS without a callback.
  void Step(VectorRef params, const ConstVectorRef& grads) override;
  void Reset() override;
  std::string Describe() const override;

  const AdaptiveOptions& options() const { return options_; }
  int64_t steps() const { return steps_; }
  // Adam/RMSProp: v; OASIS: D.
  const Eigen::VectorXf& second_moment() const { return second_; }

 private:
  AdaptiveOptions options_;
  HessianVectorProductFn hvp_;
  int64_t steps_ = 0;
  Eigen::VectorXf first_;   // Adam m
  Eigen::VectorXf second_;  // v or D
  Eigen::VectorXf z_, hz_;  // OASIS scratch
  Rng rng_;
};

}  // namespace edgefl::nn
