// WAFL's local objective: Wasserstein distributionally robust training
// (Nguyen et al., "Distributionally Robust Federated Learning", WAFL; see
// docs/algorithms.md §3 of the spec).
//
// WAFL minimises the surrogate F_γ(θ) = E_{z0} sup_z [ℓ(θ; z) − γ·c(z, z0)]
// with the transport cost c((x, y), (x0, y0)) = ½‖x − x0‖² for y = y0 (∞
// otherwise: labels are never perturbed). Per minibatch (X, y):
//   X_adv = X + U[0, ε0] noise (the authors' code clamps torch.rand to
//           [−ε0, ε0], which is U[0, ε0]);
//   T_adv times, stopping early once the ascent direction's Frobenius norm
//   is below adv_tol:
//     X_adv_i ← X_adv_i + α_adv·∇_{x_i}[ℓ(θ; x_adv_i, y_i) − (γ/2)‖x_adv_i − x_i‖²]
//   (per-sample gradients: the code differentiates the batch mean and
//   multiplies by B);
//   then the loss and θ-gradient of the mean cross-entropy at (X_adv, y),
//   which the trainer's optimizer applies.
// With T_adv = 0 and ε0 = 0 this is exactly plain cross-entropy training.
// The inner ascent's penalty part contracts only while α_adv·γ < 2; the
// constructor rejects larger products.
#pragma once

#include <vector>

#include <Eigen/Core>

#include "train/local_objective.h"

namespace edgefl::algorithms {

struct WaflOptions {
  float gamma = 0.05f;       // "gamma": transport-cost penalty γ, >= 0
  int adv_steps = 20;        // "adv_steps": T_adv, >= 0
  float adv_step = 1.0f;     // "adv_step": per-sample ascent step α_adv, >= 0
  float init_noise = 5e-4f;  // "init_noise": ε0 of the U[0, ε0] start, >= 0
  float adv_tol = 1e-4f;     // "adv_tol": early stop on the ascent direction's norm, >= 0
};

class WaflObjective final : public train::LocalObjective {
 public:
  // Throws ConfigError naming the out-of-range option ("wafl: gamma ...").
  explicit WaflObjective(const WaflOptions& options);

  // Runs the inner maximisation, then leaves the gradient of the mean
  // cross-entropy at X_adv in model.gradients() and returns that loss.
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override;

  const WaflOptions& options() const { return options_; }
  // Of the last LossAndGradient: the perturbed batch X_adv (input_dim x B),
  // the inner objective mean_i [ℓ_i − (γ/2)‖x_adv_i − x_i‖²] at each iterate
  // (start, after each ascent step), and the number of ascent steps taken.
  const Eigen::MatrixXf& last_adversarial_batch() const { return x_adv_; }
  const std::vector<double>& last_inner_objective() const { return inner_objective_; }
  int last_inner_steps() const { return inner_steps_; }

 private:
  WaflOptions options_;
  Eigen::MatrixXf x_adv_;      // perturbed batch
  Eigen::MatrixXf dx_;         // dL/dX_adv of the batch-mean loss
  Eigen::MatrixXf direction_;  // per-sample ascent direction
  Eigen::MatrixXf dlogits_;
  std::vector<double> inner_objective_;
  int inner_steps_ = 0;
};

}  // namespace edgefl::algorithms
