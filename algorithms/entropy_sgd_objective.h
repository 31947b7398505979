// Entropy-SGD's local objective (Chaudhari et al., "Entropy-SGD: Biasing
// Gradient Descent Into Wide Valleys", ICLR 2017; docs/algorithms.md §9 of
// the spec, checked against the authors' code).
//
// Per trainer step at parameters x, on the step's minibatch B:
//   x' = μ = x; γ = γ0·(1 + γ1)^t (scoping; t = scope_offset + steps taken
//   this round);
//   L times:  d = ∇f_B(x') − γ(x − x')
//             x' ← x' − η'·d + ε·√(2η')·ξ,  ξ ~ N(0, I)
//             μ ← β1·μ + (1 − β1)·x'
//   the gradient left for the optimizer is G = x − μ (not scaled by γ, as in
//   the code; the paper scales it by γ), and the returned loss is f_B(x).
// The outer step x ← x − η·G is the trainer's optimizer (the paper uses SGD
// with Nesterov momentum 0.9: set it in the recipe). With L = 0 the
// gradient is ∇f_B(x): plain SGD.
// Deviation: the code draws a fresh minibatch for every inner step; here all
// L inner steps use the trainer's minibatch (the objective sees one batch).
// The objective is rebuilt each round, so t restarts at scope_offset, which
// a strategy can set to the number of steps of earlier rounds.
#pragma once

#include <cstdint>

#include <Eigen/Core>

#include "train/local_objective.h"

namespace edgefl::algorithms {

struct EntropySgdOptions {
  int langevin_steps = 20;   // "langevin_steps": L, >= 0 (the paper also uses 5)
  double langevin_lr = 0.1;  // "langevin_lr": η', > 0
  double noise = 1e-4;       // "noise": thermal noise ε, >= 0
  double beta1 = 0.75;       // "beta1": weight of the OLD μ in its average, in [0, 1)
  double gamma0 = 0.01;      // "gamma0": initial scope γ0, >= 0
  double gamma1 = 1e-3;      // "gamma1": scoping rate γ1 (code default 0), >= 0
  int64_t scope_offset = 0;  // "scope_offset": steps before this round, >= 0
};

class EntropySgdObjective final : public train::LocalObjective {
 public:
  // Throws ConfigError naming the out-of-range option ("entropy_sgd: ...").
  explicit EntropySgdObjective(const EntropySgdOptions& options);

  void BeginRound(const nn::Model& model, Rng& rng) override;
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override;

  const EntropySgdOptions& options() const { return options_; }
  // γ of the next step.
  double scope() const;
  int64_t steps() const { return steps_; }

 private:
  EntropySgdOptions options_;
  int64_t steps_ = 0;
  Eigen::VectorXf x_;   // the outer iterate while the model holds x'
  Eigen::VectorXf mu_;  // running average of x'
};

}  // namespace edgefl::algorithms
