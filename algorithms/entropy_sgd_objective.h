// Entropy-SGD's local objective (Chaudhari et al., "Entropy-SGD: Biasing
// Gradient Descent Into Wide Valleys", ICLR 2017; docs/algorithms.md §9 of
// the spec, checked against the authors' code).
//
// Per trainer step at parameters x, on the step's minibatch B:
//   x' = μ = x; γ = γ0·(1 + γ1)^t (scoping; t = the global step: the
//   recipe's step_offset, i.e. the local steps of the earlier rounds, plus
//   the steps taken this round);
//   L times:  d = ∇f_B(x') − γ(x − x')
//             x' ← x' − η'·d + ε·√(2η')·ξ,  ξ ~ N(0, I)
//             μ ← β1·μ + (1 − β1)·x'
//   the gradient left for the optimizer is G = x − μ (not scaled by γ, as in
//   the code; the paper scales it by γ), and the returned loss is f_B(x).
// The outer step x ← x − η·G is the trainer's optimizer (the paper uses SGD
// with Nesterov momentum 0.9: the strategy keys momentum = 0.9 and
// nesterov = true). With L = 0 the gradient is ∇f_B(x): plain SGD.
// Deviation: the code draws a fresh minibatch for every inner step; here all
// L inner steps use the trainer's minibatch (the objective sees one batch).
// The objective is rebuilt each round; the trainer hands it the round's
// step offset (SetStepOffset), so the scope goes on across rounds.
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
};

class EntropySgdObjective final : public train::LocalObjective {
 public:
  // Throws ConfigError naming the out-of-range option ("entropy_sgd: ...").
  explicit EntropySgdObjective(const EntropySgdOptions& options);

  // `step_offset` >= 0 (ConfigError otherwise): t at the round's first step.
  void SetStepOffset(int64_t step_offset) override;
  void BeginRound(const nn::Model& model, Rng& rng) override;
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override;

  const EntropySgdOptions& options() const { return options_; }
  // γ of the next step.
  double scope() const;
  // Steps taken this round.
  int64_t steps() const { return steps_; }

 private:
  EntropySgdOptions options_;
  int64_t step_offset_ = 0;
  int64_t steps_ = 0;
  Eigen::VectorXf x_;   // the outer iterate while the model holds x'
  Eigen::VectorXf mu_;  // running average of x'
};

}  // namespace edgefl::algorithms
