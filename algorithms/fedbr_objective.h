// FedBR's local objective: local learning bias reduction (Guo, Tang, Lin,
// "FedBR: Improving Federated Learning on Heterogeneous Data via Local
// Learning Bias Reduction", ICML 2023), following the authors' code
// (LINs-lab/FedBR, fedbr/algorithms.py class FedBR, lines 948-1172, and
// fedbr/scripts/train_fed.py); docs/algorithms.md "fedbr" lists the lines.
//
// The model is split into the feature extractor φ (every layer but the last;
// Model::features() is its output, dimension d) and the linear classifier h
// (the last, dense layer). The projection head P (the code's
// `discriminator`: MLP d → 2d → 2d → d with ReLU) is PART OF THE MODEL (a
// "+proj" spec, nn/model_spec.h): like every submodule of the code's
// Algorithm it travels with the model and is averaged by the server
// (algorithms_fed.py FedAvg.global_update averages the whole state_dict,
// copy_from gives every client the averaged copy). Per local step with
// batch (x, y) of size B, C classes and the pseudo-data pool x_p (M samples,
// fedbr_pseudo_data.h: fixed for the run, the same on every client):
//  1. mixup: λ ~ Beta(α, α), x ← λx + (1 − λ)x[π], y ← λ·1_y + (1 − λ)·1_{y[π]}
//     for a random pairing π of the batch (soft labels);
//  2. mixture augmentation (`mixture`, the code's use_Mixture): for each
//     pseudo-sample i draw a sample j of the (mixed) batch,
//     x̃_i = (x_p,i + x_j)/2 and q_i = (u + y_j)/2 with u = 1/C; without it
//     x̃ = x_p and q = u;
//  3. on the FIRST step of the round: z_g = φ_g(x̃) with φ_g the received
//     global extractor. Quirk kept from the code: z_g stays cached for the
//     whole round although x̃ is redrawn every step;
//  4. ONE adversarial SGD step on P (the code's disc_opt, lr = the client's
//     lr, no momentum): with e1 = P(φ(x̃)), e2 = P(z_g), e3 = P(φ(x))
//     (features detached), s12 = cos(e1, e2), s13 = cos(e1, e3),
//        L_con = −mean_i log[exp(τ1·s12) / (exp(τ1·s12) + exp(τ2·s13))],
//     P ← P + head_lr·∇_P L_con (written into the model's P slice);
//  5. the loss and gradient left for the trainer's optimizer (φ and h; P's
//     gradient slice is zero):
//        L = CE_soft(h(φ(x)), y) + μ·L_con + λ·CE_soft(h(φ(x̃)), q)
//            + decorr·FedDecorr(φ(x)),
//     L_con recomputed with the updated P, now differentiated through φ.
//     FedDecorr = the mean of the squared correlation matrix of the
//     standardised features (commented out in the code; default 0 here).
// μ = 0 switches off feature bias reduction (no P needed, no z_g), λ = 0
// classifier bias reduction; with λ = μ = 0, mixup off and decorr 0 the
// objective is exactly plain cross-entropy (the same operations, bit for
// bit).
//
// Deviations, documented:
//  - The code requires B = M; here pseudo-sample i is paired with real
//    sample i mod B for s13.
//  - The trainer's weight decay and momentum (the code's FedBR uses plain
//    SGD) also act on P's zero gradient: with weight decay w P shrinks by
//    lr·w per step after its ascent step, where the code folds the decay
//    into the ascent step.
// REQUIRES: the model has at least two layers and a dense last layer, and
// a projection head ("+proj") when μ > 0.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "train/local_objective.h"

namespace edgefl::algorithms {

struct FedBrOptions {
  double mu = 0.5;           // "mu": weight of L_con (feature bias reduction), >= 0
  double lambda = 1.0;       // "lambda": weight of the pseudo-data CE (classifier), >= 0
  double tau1 = 2.0;         // "tau1": multiplies cos(e1, e2), > 0
  double tau2 = 2.0;         // "tau2": multiplies cos(e1, e3), > 0
  double mixup_alpha = 0.2;  // "mixup_alpha": Beta(α, α) of mixup; 0 = mixup off
  bool mixture = true;       // "mixture": mix the pseudo-data with batch samples
  double decorr = 0.0;       // "decorr": FedDecorr weight, >= 0
  // "head_lr": P's SGD step; the registry's default is the client's lr, as
  // in the code (disc_opt lr = hparams["lr"]). >= 0.
  double head_lr = 0.01;
  int pool_size = 32;      // "pool_size": M pseudo-samples, >= 1
  int pool_images = 10;    // "pool_images": images averaged per pseudo-sample, >= 2
  uint64_t pool_seed = 0;  // "pool_seed": the pool's draws (fedbr_pseudo_data.h)
};

class FedBrObjective final : public train::LocalObjective {
 public:
  // `pool` is input_dim x M (fedbr_pseudo_data.h). Throws ConfigError
  // naming the out-of-range option ("fedbr: mu ...").
  FedBrObjective(const FedBrOptions& options, Eigen::MatrixXf pool);

  // Forgets z_g (P is the model's). Throws ConfigError if the model has
  // fewer than two layers, no "+proj" head while μ > 0, or the pool's rows
  // differ from its input.
  void BeginRound(const nn::Model& model, Rng& rng) override;
  float LossAndGradient(nn::Model& model, const train::Batch& batch, Rng& rng) override;

  // L_con of embeddings (d x M each; columns paired), with the code's
  // cosine eps of 1e-8.
  static double ContrastiveLoss(const Eigen::MatrixXf& e1, const Eigen::MatrixXf& e2,
                                const Eigen::MatrixXf& e3, double tau1, double tau2);
  // FedDecorr of features (d x B): mean over the d x d entries of K², K the
  // correlation matrix of the rows standardised over the batch (biased
  // variance + 1e-8). If dfeatures is not null it receives dL/dfeatures.
  // 0 (and a zero gradient) for B < 2.
  static double FedDecorrLoss(const Eigen::MatrixXf& features, Eigen::MatrixXf* dfeatures);

  const FedBrOptions& options() const { return options_; }
  const Eigen::MatrixXf& pool() const { return pool_; }
  // Of the last step: pseudo-targets q (C x M), L_con before and after P's
  // adversarial step (NaN when μ = 0), and the cached z_g (d x M).
  const Eigen::MatrixXf& last_pseudo_targets() const { return targets_pseudo_; }
  double last_contrastive_before() const { return con_before_; }
  double last_contrastive_after() const { return con_after_; }
  const Eigen::MatrixXf& global_features() const { return z_global_; }
  // Adversarial steps P took since BeginRound (one per local step if μ > 0).
  int64_t head_steps() const { return head_steps_; }

 private:
  // The activations of one P forward pass.
  struct HeadPass {
    Eigen::MatrixXf a1, a2;  // pre-activations of the two hidden layers, 2d x M
    Eigen::MatrixXf e;       // output, d x M
  };
  // L_con for features f1, z_g, f3 (paired) through P (at `head`, the
  // model's P slice). Adds dL/dP to head_grad_ if want_head; writes dL/df1,
  // dL/df3 if want_features.
  double Contrastive(const float* head, bool want_head, bool want_features);
  void HeadForward(const float* head, const Eigen::MatrixXf& in, HeadPass* pass) const;
  // P backward given de; adds to head_grad_ if want_head, writes din if not null.
  void HeadBackward(const float* head, const Eigen::MatrixXf& in, const HeadPass& pass,
                    const Eigen::MatrixXf& de, bool want_head, Eigen::MatrixXf* din);

  FedBrOptions options_;
  Eigen::MatrixXf pool_;  // input_dim x M
  Eigen::Index dim_ = 0;  // d
  Eigen::VectorXf head_grad_;
  bool have_global_ = false;
  int64_t head_steps_ = 0;
  double con_before_ = 0.0, con_after_ = 0.0;

  // Per-step scratch, reused.
  Eigen::MatrixXf input_;           // input_dim x (B + M): mixed batch, then x̃
  Eigen::MatrixXf targets_real_;    // C x B soft labels (mixup)
  Eigen::MatrixXf targets_pseudo_;  // C x M
  Eigen::MatrixXf dlogits_, dpart_;
  Eigen::MatrixXf dfeatures_;           // d x (B + M)
  Eigen::MatrixXf f1_, f3_, z_global_;  // d x M
  HeadPass p1_, p2_, p3_;
  Eigen::MatrixXf de1_, de2_, de3_, df1_, df3_, dtmp_, dtmp2_;
  Eigen::MatrixXf decorr_features_, ddecorr_;
  std::vector<uint32_t> pairing_;
  std::vector<uint32_t> partners_;
};

}  // namespace edgefl::algorithms
