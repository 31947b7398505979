// The sampled convex program (SCP) of a two-layer ReLU network — the
// unconstrained "gated" program of convex_relu_admm.h over P sampled
// activation patterns,
//   minimize ½‖Σ_i D_i X̃ (v_i − w_i) − Y‖²_F + β Σ ‖z_{c,j}‖₂,
// which Bai, Gautam & Sojoudi (arXiv 2201.01965) analyse with the theory of
// sampled convex programs and solve without a linear system — solved here
// by accelerated proximal gradient (FISTA, Beck & Teboulle 2009; our choice
// of first-order method, see docs/algorithms.md): a gradient step on the
// squared loss with step 1/L (L ≥ λ_max(FᵀF), by power iteration), then the
// group soft-thresholding prox. Linear time in n·P·(D+1)·C per iteration and
// no 2P(D+1)-square factor: the alternative to the ADMM's Cholesky when P or
// D is large. It reaches the same optimum as SolveConvexReluAdmm with
// ConvexFormulation::kGated (tested).
#pragma once

#include "algorithms/convex_relu_admm.h"

namespace edgefl::algorithms {

struct ScpOptions {
  double beta = 1e-3;  // β > 0
  int iterations = 500;
  int power_iterations = 50;  // for L
};

// λ_max(FᵀF) estimated by `iterations` power iterations from a fixed start
// (deterministic), times 1.01 so the step 1/L stays safe.
double GatedLipschitz(const ConvexReluData& data, int iterations);

// Throws ConfigError for β ≤ 0, iterations < 1 or power_iterations < 1.
// objective[] is ConvexObjective after each iteration; residual[] the norm
// of the change of Z.
ConvexAdmmResult SolveGatedScp(const ConvexReluData& data, const ScpOptions& options);

}  // namespace edgefl::algorithms
