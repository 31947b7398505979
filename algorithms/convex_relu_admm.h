// ADMM for the convex program of a two-layer ReLU network over sampled
// activation patterns (Bai, Gautam & Sojoudi, "Efficient Global Optimization
// of Two-layer ReLU Networks: Quadratic-time Algorithms and Adversarial
// Training", arXiv 2201.01965, Algorithm 1; the program is Pilanci & Ergen's,
// ICML 2020). Squared loss, one-vs-all (each class has its own neurons).
//
// Rows X̃ = [X, 1] (n x a, a = D+1), targets Y (n x C), gates h_1..h_P,
// masks m_i = 1[X̃ h_i ≥ 0]. Variables Z (2Pa x C): class c's column holds
// v_{c,1..P} then w_{c,1..P} (the layout of nn/convex_relu_layer.h). With
//   F Z = Σ_i diag(m_i) X̃ (v_i − w_i)            (n x C),
//   G Z = [(2 diag(m_i) − I) X̃ v_i ; … w_i]      (2Pn x C),
// the program is
//   minimize ½‖F Z − Y‖²_F + β Σ_{c,j} ‖z_{c,j}‖₂
//   subject to G Z ≥ 0                (cone formulation; none for gated),
// Algorithm 1 splits U = V (group lasso on V) and G U = S, S ≥ 0, with
// scaled duals Λ, N and penalty ρ:
//   U ← (FᵀF + ρI + ρGᵀG)⁻¹ (FᵀY + ρ(V − Λ) + ρGᵀ(S − N))   (one cached
//       Cholesky factor: quadratic time per iteration)
//   V ← group soft-threshold(U + Λ, β/ρ)
//   S ← max(G U + N, 0)
//   Λ ← Λ + (U − V),  N ← N + (G U − S).
// The gated formulation (the unconstrained sampled convex program, SCP)
// drops G, S, N. The solution returned is V (sparse, exactly group-lasso
// thresholded); its cone constraints hold to the ADMM's tolerance.
#pragma once

#include <span>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "datasets/dataset.h"
#include "nn/convex_relu_layer.h"

namespace edgefl::algorithms {

enum class ConvexFormulation { kCone, kGated };

// One party's rows of the program (all of them, or one client's share).
struct ConvexReluData {
  Eigen::MatrixXd x;      // n x a, the features with a bias column of ones
  Eigen::MatrixXd y;      // n x C targets
  Eigen::MatrixXd masks;  // n x P, 1[x̃ · h_i ≥ 0] as 0/1
  Eigen::Index patterns() const { return masks.cols(); }
  Eigen::Index augmented() const { return x.cols(); }
  Eigen::Index block_rows() const { return 2 * patterns() * augmented(); }
};

// Throws ConfigError if the shapes disagree (features n x D, targets n x C,
// gates (D+1) x P), n or P is 0, or a value is not finite.
ConvexReluData MakeConvexReluData(const Eigen::MatrixXd& features, const Eigen::MatrixXd& targets,
                                  const Eigen::MatrixXd& gates);
// One-vs-all targets: +1 for the label's class, −1 for the others. Throws
// DataError for a label outside [0, classes).
Eigen::MatrixXd OneVsAllTargets(std::span<const int32_t> labels, int classes);
// A dataset's rows with one-vs-all targets. Throws as the two above.
ConvexReluData ConvexReluDataFrom(const datasets::Dataset& data, const Eigen::MatrixXd& gates,
                                  int classes);

// The gates H ((D+1) x P) and Z of a convex_relu/gated_relu parameter vector.
Eigen::MatrixXd GatesOf(const nn::ConvexReluLayout& layout, std::span<const float> parameters);
Eigen::MatrixXd BlockOf(const nn::ConvexReluLayout& layout, std::span<const float> parameters,
                        Eigen::Index offset);
void StoreBlock(const Eigen::MatrixXd& block, Eigen::Index offset, Eigen::VectorXf* parameters);

// F Z (n x C), Fᵀ R (2Pa x C), G Z (2Pn x C), Gᵀ S (2Pa x C).
Eigen::MatrixXd ApplyF(const ConvexReluData& data, const Eigen::MatrixXd& z);
Eigen::MatrixXd ApplyFt(const ConvexReluData& data, const Eigen::MatrixXd& r);
Eigen::MatrixXd ApplyG(const ConvexReluData& data, const Eigen::MatrixXd& z);
Eigen::MatrixXd ApplyGt(const ConvexReluData& data, const Eigen::MatrixXd& s);

// FᵀF + ρI (+ ρGᵀG for the cone formulation), 2Pa x 2Pa.
Eigen::MatrixXd ConvexSystemMatrix(const ConvexReluData& data, ConvexFormulation formulation,
                                   double rho);

// ½‖F Z − Y‖²_F + β Σ ‖z_{c,j}‖₂ (the convex objective).
double ConvexObjective(const ConvexReluData& data, const Eigen::MatrixXd& z, double beta);
// β Σ ‖z_{c,j}‖₂.
double GroupNorm(const Eigen::MatrixXd& z, Eigen::Index group, double beta);
// The largest violation max(0, −(G Z)) of the cone constraints.
double ConeViolation(const ConvexReluData& data, const Eigen::MatrixXd& z);
// Group soft-thresholding of every length-`group` block of every column.
Eigen::MatrixXd GroupShrink(const Eigen::MatrixXd& z, Eigen::Index group, double threshold);

// The ReLU network (mlp:D-H-C, H = 2PC, nn/dense.h layout) Z encodes: for
// each nonzero v, a neuron u = v/√‖v‖ with output weight +√‖v‖ to its
// class; for each nonzero w, u = w/√‖w‖ with −√‖w‖ (zero groups give zero
// neurons). Its prediction is Σ relu(x̃·v) − relu(x̃·w) per class and its
// weight decay (β/2)(‖U‖² + ‖α‖²) equals β Σ‖z_{c,j}‖.
Eigen::VectorXf RecoverReluNetwork(const Eigen::MatrixXd& z, Eigen::Index features,
                                   Eigen::Index patterns, Eigen::Index classes);

struct ConvexAdmmOptions {
  ConvexFormulation formulation = ConvexFormulation::kCone;
  double beta = 1e-3;  // regularisation β > 0
  double rho = 1.0;    // ADMM penalty ρ > 0
  int iterations = 500;
};

struct ConvexAdmmResult {
  Eigen::MatrixXd z;              // the solution V
  std::vector<double> objective;  // ConvexObjective of V after each iteration
  std::vector<double> residual;   // ‖U − V‖ (+ ‖GU − S‖) after each iteration
};

// Throws ConfigError for β ≤ 0, ρ ≤ 0, iterations < 1 or non-finite values.
void ValidateConvexAdmmOptions(const ConvexAdmmOptions& options);

// The centralised solver (Algorithm 1). Throws as ValidateConvexAdmmOptions.
ConvexAdmmResult SolveConvexReluAdmm(const ConvexReluData& data, const ConvexAdmmOptions& options);

// A client's step of the federated consensus ADMM (algorithms/convex_relu.h):
//   U_k = argmin ½‖F_k U − Y_k‖² + (ρ/2)‖U − T‖²  [s.t. G_k U ≥ 0],
// exactly (one solve) for the gated formulation, by `inner` iterations of
// the same splitting as Algorithm 1 (S_k, N_k) for the cone one, warm
// started from the previous round's S_k, N_k. Caches the Cholesky factor
// for its ρ. One per client; not thread-safe.
class ConvexLocalStep {
 public:
  ConvexLocalStep(ConvexReluData data, ConvexFormulation formulation);
  Eigen::MatrixXd Solve(const Eigen::MatrixXd& target, double rho, int inner);
  const ConvexReluData& data() const { return data_; }

 private:
  ConvexReluData data_;
  ConvexFormulation formulation_;
  double rho_ = 0.0;  // of the cached factor
  Eigen::LLT<Eigen::MatrixXd> factor_;
  Eigen::MatrixXd fty_;
  Eigen::MatrixXd s_, n_;  // cone slack and its scaled dual
};

}  // namespace edgefl::algorithms
