// The adversarially robust (ℓ∞, radius ε) convex program of a two-layer
// ReLU network (Bai, Gautam & Sojoudi, arXiv 2201.01965, Section 4, "convex
// adversarial training"; docs/algorithms.md, convex_relu, for what of it we
// could read and what is our reconstruction) and an ADMM that solves it.
//
// With the notation of convex_relu_admm.h (rows x̃_k = [x_k; 1], masks
// d_ik, class c's groups u_{c,j} = v_{c,i} or w_{c,i}, u^D its D feature
// entries), an input perturbation ‖δ‖∞ ≤ ε leaves every neuron's sign on
// row k unchanged when
//   (2d_ik − 1) x̃_k·u_{c,j} ≥ ε‖u^D_{c,j}‖₁          (robust cone constraints),
// and then the network is linear on the ball: class c's output moves by
// q_kc·δ with q_kc = Σ_i d_ik (v_{c,i} − w_{c,i})^D, so the worst-case squared
// loss is (|r_kc| + ε‖q_kc‖₁)² with r_kc = (F Z − Y)_kc. The program is
//   minimize Σ_{k,c} ½(|r_kc| + ε‖q_kc‖₁)² + β Σ ‖u_{c,j}‖₂
//   subject to the robust cone constraints,
// the cone formulation of convex_relu_admm.h at ε = 0. Only the cone (ReLU)
// formulation has a robust counterpart here: the gated model's gates can
// flip under a perturbation.
//
// Solver (ours: the paper solves the robust program with a generic convex
// solver). ADMM with a quadratic primal step in (U, T), T (2P x C) the
// epigraph variables t_{c,j} ≥ ‖u^D_{c,j}‖₁, and closed-form splits:
//   (R, Q) = (F U − Y, Q(U))          prox of ½(|r| + ε‖q‖₁)² (a 1-D root),
//   S = G U − ε B T ≥ 0               (B repeats t_{c,j} over the n rows),
//   (E U, T) ∈ {‖x‖₁ ≤ t}             projection onto the ℓ1 epigraph,
//   U = V                             group soft-thresholding (centralised)
//                                     or the consensus target (a client),
// all with scaled duals and one penalty ρ, so the primal step's matrix
// H = FᵀF + QᵀQ + GᵀG + EᵀE + I (with the T blocks) does not depend on ρ:
// one Cholesky factor per data set and ε. Memory: Q and its dual are
// n x D x C each.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "algorithms/convex_relu_admm.h"

namespace edgefl::algorithms {

// Q(Z): the D x (n·C) matrix whose column c·n + k is q_kc.
Eigen::MatrixXd ApplyQ(const ConvexReluData& data, const Eigen::MatrixXd& z);
// The adjoint of ApplyQ: 2Pa x C.
Eigen::MatrixXd ApplyQt(const ConvexReluData& data, const Eigen::MatrixXd& q);

// The loss of the program: the squared loss above, or the hinge loss of a
// ±1 target y, whose worst case on the ball is (1 − y f + ε‖q‖₁)₊ =
// (ε‖q‖₁ − y r)₊ with r = f − y (binary classification; per class for C > 1).
enum class RobustLoss { kSquared, kHinge };

// Σ ½(|r_kc| + ε‖q_kc‖₁)² (or Σ (ε‖q_kc‖₁ − y_kc r_kc)₊) + β Σ‖u‖₂; the
// squared one equals ConvexObjective at ε = 0.
double RobustConvexObjective(const ConvexReluData& data, const Eigen::MatrixXd& z, double beta,
                             double epsilon, RobustLoss loss = RobustLoss::kSquared);
// The largest violation max(0, ε‖u^D‖₁ − (2d − 1) x̃·u) of the robust cone
// constraints (ConeViolation at ε = 0).
double RobustConeViolation(const ConvexReluData& data, const Eigen::MatrixXd& z, double epsilon);

// The scalar and vector steps of the splitting, exposed for tests:
// argmin_{r,q} ½(|r| + ε‖q‖₁)² + (ρ/2)((r − r0)² + ‖q − q0‖²), in place;
void RobustLossProx(double epsilon, double rho, double* r, Eigen::Ref<Eigen::VectorXd> q);
// argmin_{r,q} (ε‖q‖₁ − y r)₊ + (ρ/2)((r − r0)² + ‖q − q0‖²), y = ±1, in place;
void RobustHingeProx(double epsilon, double rho, double y, double* r,
                     Eigen::Ref<Eigen::VectorXd> q);
// the Euclidean projection of (x, t) onto {‖x‖₁ ≤ t}, in place.
void ProjectL1Epigraph(Eigen::Ref<Eigen::VectorXd> x, double* t);

// Throws ConfigError for ε < 0 or not finite, naming it.
void ValidateAdversarialEpsilon(double epsilon);

// The splitting above on one party's rows. Step(anchor, ρ) is one ADMM
// iteration with the anchor term (ρ/2)‖U − anchor‖² and returns U; the
// auxiliary variables and duals persist between calls (a client's warm
// start across rounds). Not thread-safe.
class RobustConvexSplitting {
 public:
  // Throws ConfigError for a bad ε; Error if the factorisation fails.
  RobustConvexSplitting(ConvexReluData data, double epsilon,
                        RobustLoss loss = RobustLoss::kSquared);
  Eigen::MatrixXd Step(const Eigen::MatrixXd& anchor, double rho);
  const ConvexReluData& data() const { return data_; }
  double epsilon() const { return epsilon_; }
  // ‖F U − Y − R‖ + ‖Q(U) − Q‖ + ‖GU − εBT − S‖ + ‖EU − Ue‖ + ‖T − Te‖ of
  // the last Step (squared norms summed, then the root).
  double residual() const { return residual_; }

 private:
  ConvexReluData data_;
  double epsilon_;
  RobustLoss loss_;
  Eigen::LLT<Eigen::MatrixXd> factor_;
  Eigen::MatrixXd r_, nr_;   // n x C
  Eigen::MatrixXd q_, nq_;   // D x nC
  Eigen::MatrixXd s_, ns_;   // 2Pn x C
  Eigen::MatrixXd ue_, ne_;  // D x 2PC
  Eigen::MatrixXd te_, nt_;  // 2P x C
  double residual_ = 0.0;
};

struct RobustAdmmOptions {
  double beta = 1e-3;
  double rho = 1.0;
  double epsilon = 0.0;
  int iterations = 500;
  RobustLoss loss = RobustLoss::kSquared;
};

// The centralised solver: U = V with V ← group soft-threshold(U + Λ, β/ρ)
// alongside the splitting. Returns V; objective[] is RobustConvexObjective
// of V after each iteration, residual[] the splitting's plus ‖U − V‖.
// Throws ConfigError for bad options (as ValidateConvexAdmmOptions, ε).
ConvexAdmmResult SolveRobustConvexRelu(const ConvexReluData& data,
                                       const RobustAdmmOptions& options);

}  // namespace edgefl::algorithms
