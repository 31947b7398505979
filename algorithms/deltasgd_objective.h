// Δ-SGD: the client's auto-tuned step size (Kim et al., "Adaptive Federated
// Learning with Auto-Tuned Clients", ICLR 2024; docs/algorithms.md §4 of the
// spec, checked against the authors' code).
//
// State, reset by BeginRound: η = η0, θ = θ0, x_prev = x = w_t. Per local
// step on minibatch b, with g = ∇f_b(x) (what the trainer computed, after
// any clipping) and g_prev = ∇f_b(x_prev) on the SAME minibatch:
//   a = ‖x − x_prev‖, d = ‖g − g_prev‖ (global L2 norms over all parameters)
//   η_new = min(√(1 + δθ)·η, γ·a/(2d)) + ε   if a > 0 and d > 0
//   η_new = √(1 + δθ)·η                        otherwise
//   θ ← η_new/η;  η ← η_new;  x_prev ← x
// and the trainer's optimizer then takes x ← x − η_new·g (BeforeStep sets
// its learning rate). The rule assumes that optimizer is plain SGD (no
// momentum, no weight decay); the recipe's learning rate is ignored.
// g_prev is computed by loading x_prev into the model for one plain
// cross-entropy gradient; parameters() and gradients() are restored bit for
// bit afterwards (g_prev is not clipped). When a = 0 (the first step)
// g_prev = g, so it is not computed.
#pragma once

#include <Eigen/Core>

#include "train/local_objective.h"

namespace edgefl::algorithms {

struct DeltaSgdOptions {
  double eta0 = 0.2;      // "eta0": initial step size, > 0
  double theta0 = 1.0;    // "theta0": initial step-size ratio, >= 0
  double gamma = 2.0;     // "gamma": curvature-bound factor (the code's D = 1 is 2/γ), > 0
  double delta = 0.1;     // "delta": growth factor (run.sh 0.1; code default 0.02), >= 0
  double epsilon = 1e-8;  // "epsilon": added to a bounded step, >= 0
};

// The rule above for one step: the next η given the current η, θ and the
// norms a, d.
double DeltaSgdNextStepSize(const DeltaSgdOptions& options, double eta, double theta, double a,
                            double d);

class DeltaSgdObjective final : public train::LocalObjective {
 public:
  // Throws ConfigError naming the out-of-range option ("deltasgd: eta0 ...").
  explicit DeltaSgdObjective(const DeltaSgdOptions& options);

  void BeginRound(const nn::Model& model, Rng& rng) override;
  // Computes g_prev, updates η and θ, and sets optimizer's learning rate.
  void BeforeStep(nn::Model& model, const train::Batch& batch, nn::Optimizer& optimizer) override;

  const DeltaSgdOptions& options() const { return options_; }
  // The current step size η (after a BeforeStep: the one the step uses),
  // θ, and a, d of the last step (0 before the first).
  double learning_rate() const { return eta_; }
  double theta() const { return theta_; }
  double last_a() const { return a_; }
  double last_d() const { return d_; }
  int64_t steps() const { return steps_; }

 private:
  DeltaSgdOptions options_;
  double eta_ = 0.0;
  double theta_ = 0.0;
  double a_ = 0.0;
  double d_ = 0.0;
  int64_t steps_ = 0;
  Eigen::VectorXf x_prev_;  // previous iterate
  Eigen::VectorXf g_;       // holds g while the model computes g_prev
};

}  // namespace edgefl::algorithms
