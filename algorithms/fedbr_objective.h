// FedBR's local objective: local learning bias reduction (Guo, Tang, Lin,
// "FedBR: Improving Federated Learning on Heterogeneous Data via Local
// Learning Bias Reduction", ICML 2023; docs/algorithms.md §2 of the spec,
// checked against the authors' code).
//
// The model is split into the feature extractor φ (every layer but the last;
// Model::features() is its output, dimension d) and the linear classifier h
// (the last, dense layer). A projection head P (MLP d → 2d → d with ReLU)
// maps features to embeddings. Per local step with batch (x, y) of size B,
// C classes and the pseudo-data pool x_p (M samples):
//  1. mixup: λ ~ Beta(α, α), x ← λx + (1 − λ)x[π], y ← λ·1_y + (1 − λ)·1_{y[π]}
//     for a random pairing π of the batch (soft labels);
//  2. mixture augmentation: for each pseudo-sample i draw a batch sample j,
//     x̃_i = (x_p,i + x_j)/2 and q_i = (u + 1_{y_j})/2 with u = 1/C (rows sum to 1);
//  3. on the FIRST step of the round: z_g = φ_g(x̃) with φ_g the received
//     global extractor. Quirk kept from the code: z_g stays cached for the
//     whole round although x̃ is redrawn every step. Because of it φ_g is
//     evaluated only once, at the first step, where the model still holds the
//     global weights, so no copy of φ_g is kept;
//  4. adversarial step on P: with e1 = P(φ(x̃)), e2 = P(z_g), e3 = P(φ(x))
//     (features detached), s12 = cos(e1, e2), s13 = cos(e1, e3),
//        L_con = −mean_i log[exp(τ1·s12) / (exp(τ1·s12) + exp(τ2·s13))],
//     P ← P + head_lr·∇_P L_con (one SGD step that INCREASES L_con);
//  5. the loss and gradient left for the trainer's optimizer (φ and h only):
//        L = CE_soft(h(φ(x)), y) + μ·L_con + λ·CE_soft(h(φ(x̃)), q)
//            + decorr·FedDecorr(φ(x)),
//     L_con recomputed with the updated P, now differentiated through φ.
//     FedDecorr = the mean of the squared correlation matrix of the
//     standardised features (the code adds it with weight 0.1; not in the
//     paper; default 0 here).
// μ = 0 switches off feature bias reduction (no P, no z_g), λ = 0 classifier
// bias reduction; with λ = μ = 0, mixup off and decorr 0 the objective is
// exactly plain cross-entropy (the same operations, bit for bit).
//
// Deviations from the spec, documented:
//  - P is NOT part of the model's flat parameter vector and so is not
//    aggregated: it lives in the objective, is initialised at BeginRound from
//    `head_seed` (a seed all clients share for the round; PyTorch's default
//    Linear init, U(±1/√fan_in)) and is stepped by plain SGD with head_lr.
//  - The pseudo-data pool is the "augmentation-mean" variant built from a
//    given source dataset (the registry uses the client's own data) with a
//    seed shared by all clients: identical across rounds, and across clients
//    only when they build it from the same source. The paper pools the
//    clients' means on the server and broadcasts them; that is not done.
//  - The code requires B = M; here pseudo-sample i is paired with real
//    sample i mod B for s13.
//  - Mixture partners j are drawn from the current batch (raw, not mixed).
// REQUIRES: the model has at least two layers and a dense last layer.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "train/local_objective.h"

namespace edgefl::algorithms {

struct FedBrOptions {
  double mu = 0.5;           // "mu": weight of L_con (feature bias reduction), >= 0
  double lambda = 1.0;       // "lambda": weight of the pseudo-data CE (classifier), >= 0
  double tau1 = 2.0;         // "tau1": multiplies cos(e1, e2), > 0
  double tau2 = 2.0;         // "tau2": multiplies cos(e1, e3), > 0
  double mixup_alpha = 0.2;  // "mixup_alpha": Beta(α, α) of mixup; 0 = mixup off
  double decorr = 0.0;       // "decorr": FedDecorr weight (the code: 0.1), >= 0
  double head_lr = 0.01;     // "head_lr": P's SGD step (the code: the client lr), >= 0
  int pool_size = 32;        // "pool_size": M pseudo-samples, >= 1
  int pool_images = 10;      // "pool_images": images averaged per pseudo-sample, >= 1
  uint64_t pool_seed = 0;    // "pool_seed": shared by all clients
  uint64_t head_seed = 0;    // "head_seed": P's initialisation, shared by all clients
};

class FedBrObjective final : public train::LocalObjective {
 public:
  // `pool` is input_dim x M (see BuildPseudoDataPool). Throws ConfigError
  // naming the out-of-range option ("fedbr: mu ...").
  FedBrObjective(const FedBrOptions& options, Eigen::MatrixXf pool);

  // The pseudo-data pool: `size` columns, each the mean of `images` samples
  // of `source` drawn uniformly with replacement from Rng::Derive(seed, ...).
  // Deterministic. Throws ConfigError if source is empty or size/images < 1.
  static Eigen::MatrixXf BuildPseudoDataPool(const datasets::Dataset& source, int size, int images,
                                             uint64_t seed);

  // Initialises P from head_seed and forgets z_g. Throws ConfigError if the
  // model has fewer than two layers or the pool's rows differ from its input.
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
  // The head P as one vector: W1 (2d x d), b1 (2d), W2 (d x 2d), b2 (d).
  const Eigen::VectorXf& head() const { return head_; }
  // Of the last step: pseudo-targets q (C x M), L_con before and after P's
  // adversarial step (NaN when μ = 0), and the cached z_g (d x M).
  const Eigen::MatrixXf& last_pseudo_targets() const { return targets_pseudo_; }
  double last_contrastive_before() const { return con_before_; }
  double last_contrastive_after() const { return con_after_; }
  const Eigen::MatrixXf& global_features() const { return z_global_; }

 private:
  // L_con for features f1, z_g, f3 (paired) through P. Adds dL/dP to
  // head_grad_ if want_head; writes dL/df1, dL/df3 if want_features.
  double Contrastive(bool want_head, bool want_features);
  // P forward of `in` (d x M) into pre-activation `a` (2d x M) and `e`.
  void HeadForward(const Eigen::MatrixXf& in, Eigen::MatrixXf* a, Eigen::MatrixXf* e) const;
  // P backward given de; adds to head_grad_ if want_head, writes din if not null.
  void HeadBackward(const Eigen::MatrixXf& in, const Eigen::MatrixXf& a, const Eigen::MatrixXf& de,
                    bool want_head, Eigen::MatrixXf* din);

  FedBrOptions options_;
  Eigen::MatrixXf pool_;  // input_dim x M
  Eigen::Index dim_ = 0;  // d
  Eigen::VectorXf head_, head_grad_;
  bool have_global_ = false;
  double con_before_ = 0.0, con_after_ = 0.0;

  // Per-step scratch, reused.
  Eigen::MatrixXf input_;           // input_dim x (B + M): mixed batch, then x̃
  Eigen::MatrixXf targets_real_;    // C x B soft labels (mixup)
  Eigen::MatrixXf targets_pseudo_;  // C x M
  Eigen::MatrixXf dlogits_, dpart_;
  Eigen::MatrixXf dfeatures_;           // d x (B + M)
  Eigen::MatrixXf f1_, f3_, z_global_;  // d x M
  Eigen::MatrixXf a1_, a2_, a3_, e1_, e2_, e3_, de1_, de2_, de3_, df1_, df3_, dtmp_;
  Eigen::MatrixXf decorr_features_, ddecorr_;
  std::vector<uint32_t> pairing_;
  std::vector<uint32_t> partners_;
};

}  // namespace edgefl::algorithms
