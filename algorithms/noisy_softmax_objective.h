// Noisy Softmax (B. Chen, W. Deng, J. Du, "Noisy Softmax: Improving the
// Generalization Ability of DCNN via Postponing the Early Softmax
// Saturation", CVPR 2017, arXiv 1708.03769; docs/algorithms.md §9 of the
// spec: the formula is from memory, not checked against code).
//
// Training only. With x the input of the last (dense) layer, W_y its row of
// the target class and θ_y the angle between them, the target logit
// z_y = W_y·x + b_y is replaced by
//   z̃_y = z_y − α·‖W_y‖‖x‖·(1 − cos θ_y)·|ξ|,   ξ ~ N(0, 1) per sample,
// i.e. f_y = ‖W_y‖‖x‖cos θ_y becomes f_y − α‖W_y‖‖x‖(1 − cos θ_y)|ξ|
// (annealed: the noise vanishes as θ_y → 0; the bias is kept). Other logits
// are unchanged; the loss is the mean softmax cross-entropy of the noisy
// logits and its gradient flows through the noise term too (ξ fixed).
// α = 0 is plain cross-entropy. Evaluation (LocalTrainer::Evaluate) never
// sees the noise.
// REQUIRES: the model's last layer is dense (mlp, logreg, lenet all are).
#pragma once

#include <vector>

#include <Eigen/Core>

#include "train/local_objective.h"

namespace edgefl::algorithms {

struct NoisySoftmaxOptions {
  double alpha = 0.1;  // "alpha": noise scale, >= 0 (tune around 0.05–0.5)
};

class NoisySoftmaxObjective final : public train::LocalObjective {
 public:
  // Throws ConfigError if alpha is negative or not finite.
  explicit NoisySoftmaxObjective(const NoisySoftmaxOptions& options);

  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override;

  const NoisySoftmaxOptions& options() const { return options_; }
  // The clean cross-entropy of the last batch (same logits, no noise).
  float last_clean_loss() const { return clean_loss_; }

 private:
  NoisySoftmaxOptions options_;
  float clean_loss_ = 0.0f;
  Eigen::MatrixXf logits_;  // noisy logits, classes x B
  Eigen::MatrixXf dlogits_;
  Eigen::MatrixXf dfeatures_;  // features x B
  Eigen::MatrixXf dweights_;   // classes x features: the noise term's dL/dW
  std::vector<float> scales_;  // α|ξ| per sample
};

}  // namespace edgefl::algorithms
