// convex_relu: the convex program of a two-layer ReLU network
// (algorithms/convex_relu_admm.h) solved federatedly by consensus ADMM.
// The program is a sum over rows, so client k, holding rows k, has
//   f_k(U) = ½‖F_k U − Y_k‖²  [+ ι(G_k U ≥ 0), cone formulation]
// and the coordinator holds g(Z) = β Σ ‖z_{c,j}‖₂. With penalty ρ and
// scaled duals Λ_k, round t is
//   client k: U_k = argmin f_k(U) + (ρ/2)‖U − (Z − Λ_k)‖²
//             (ConvexLocalStep: exact for gated, `inner_iters` warm-started
//             splitting iterations for cone), sent as its update;
//   server:   Z ← group soft-threshold(mean_k (U_k + Λ_k), β/(Kρ)),
//             Λ_k ← Λ_k + U_k − Z.
// The global parameter vector is the model's (nn/convex_relu_layer.h,
// "convex_relu:D-P-C-K" or "gated_relu:D-P-C-K"): the gates (fixed by the
// initial model's seed), Z, and the K duals, so the state travels with the
// model and survives a restart. Client k's slot is its id's rank among the
// round's cohort ids (sorted), told in LocalAlgorithm::params["slot"]; a
// client returns the global vector with the Z block replaced by U_k.
// Every one of the K clients must report each round: a round with fewer
// results (or a cohort that is not K clients) keeps the model unchanged.
//
// Thread-safety: used by one round engine at a time (see strategy.h).
#pragma once

#include <string>
#include <vector>

#include "algorithms/strategy.h"
#include "nn/convex_relu_layer.h"

namespace edgefl::algorithms {

struct ConvexReluOptions {
  double beta = 1e-3;   // β > 0, the group-lasso weight (weight decay β/2 on the ReLU net)
  double rho = 1.0;     // ρ > 0, the consensus penalty
  int inner_iters = 5;  // cone: the client's splitting iterations per round
  // ε >= 0: train the ℓ∞-robust program of convex_relu_robust.h (cone
  // formulation only); 0 is the standard program.
  double adversarial_eps = 0.0;
  uint64_t seed = 0;
};

// The layout of a convex_relu/gated_relu model spec; throws ConfigError for
// any other spec (naming it) or one without client duals when `need_duals`.
nn::ConvexReluLayout ConvexReluLayoutOf(const std::string& model_spec, bool need_duals);

class ConvexRelu final : public Strategy {
 public:
  // Throws ConfigError for a bad option, a model spec that is not
  // convex_relu/gated_relu with K >= 1 dual blocks, or adversarial_eps > 0
  // with gated_relu (the robust program needs the ReLU cone formulation).
  ConvexRelu(std::string model_spec, ConvexReluOptions options);

  std::string name() const override { return "convex_relu"; }

  // Objective "convex_admm" (a LocalSolver, local_solver.h) with slot, rho,
  // inner_iters, and eps when adversarial_eps > 0.
  std::vector<train::FitInstructions> ConfigureFit(int64_t round,
                                                   std::span<const ClientInfo> cohort) override;

  // The consensus step above. Metrics: "num_results", "primal_residual"
  // (√Σ‖U_k − Z‖²), "dual_residual" (ρ√K‖Z − Z_prev‖), "active_neurons"
  // (nonzero groups of Z), "complete" (1 if all K reported).
  AggregateOutcome AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                std::span<const train::FitResult> results,
                                std::span<const train::FitFailure> failures) override;

  const nn::ConvexReluLayout& layout() const { return layout_; }

 private:
  std::string model_spec_;
  ConvexReluOptions options_;
  nn::ConvexReluLayout layout_;
};

}  // namespace edgefl::algorithms
