// Centered clipping (Karimireddy, He, Jaggi, "Learning from History for
// Byzantine Robust Optimization", ICML 2021, eq. (CC)): starting from a
// center v (the previous round's aggregate), L times
//     v ← v + (1/n) Σ_i (x_i − v) · min(1, τ / ‖x_i − v‖₂).
// An input moves v by at most τ/n per iteration however far it lies, so f
// attackers shift the result by at most L·f·τ/n; with τ = ∞ one iteration
// gives the plain mean. Unweighted, as in the paper and the authors' code
// (codes/aggregator/clipping.py, Clipping.__call__).
//
// Errors: no vectors, vectors or center of different sizes, τ not > 0 (∞ is
// allowed), iterations < 1 throw ConfigError naming the argument. A
// non-finite input throws ConfigError naming it: the center is carried
// across rounds, so one NaN would otherwise poison every later round. (The
// round engine rejects non-finite updates before any rule sees them.)
//
// Thread-safety: a pure function; call it from any thread.
#pragma once

#include <cstddef>
#include <span>

#include <Eigen/Core>

#include "algorithms/aggregate.h"

namespace edgefl::algorithms {

struct CenteredClipOptions {
  double tau = 10.0;   // τ > 0; the authors' code default (--clip-tau 10)
  int iterations = 3;  // L >= 1; the ICLR'22 code runs 3 (n_iter=3), ICML'21's 1
};

struct CenteredClipOutcome {
  Eigen::VectorXf center;  // v after L iterations
  size_t num_clipped = 0;  // inputs with ‖x_i − v‖ > τ in the last iteration
};

// Centered clipping of `vectors` from `start` (sums in double).
CenteredClipOutcome CenteredClip(std::span<const ParameterSpan> vectors, ParameterSpan start,
                                 const CenteredClipOptions& options);

}  // namespace edgefl::algorithms
