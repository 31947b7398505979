// Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine
// Learning with Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS
// 2017, §4): with n inputs of which at most f are Byzantine, input i scores
//     s(i) = Σ_{j ∈ N_i} ‖x_i − x_j‖₂²,
// N_i its n − f − 2 nearest other inputs; Krum keeps the input of least
// score, Multi-Krum the m inputs of least score and returns their plain
// (unweighted) mean. An input far from most others — a scaled or sign-flipped
// update — scores high and is left out whole instead of being pulled in part.
// Scores use squared distances as in the paper (the ICLR'22 bucketing code,
// codes/aggregator/krum.py, squares them twice).
//
// Errors (ConfigError naming the argument): no vectors, vectors of different
// sizes, n < 2f + 3 (the paper's 2f + 2 < n: no neighbour set otherwise),
// m not in [1, n].
//
// Thread-safety: a pure function; call it from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "algorithms/aggregate.h"

namespace edgefl::algorithms {

struct MultiKrumOutcome {
  Eigen::VectorXf mean;          // mean of the selected inputs
  std::vector<size_t> order;     // every input by ascending score (ties: lower index)
  std::vector<size_t> selected;  // the first m of `order`
  std::vector<double> scores;    // s(i) for every input
};

// Multi-Krum of `vectors` assuming at most `byzantine` (f) of them are
// Byzantine, keeping `keep` (m) inputs; m = 1 is Krum. Distances in double.
MultiKrumOutcome MultiKrum(std::span<const ParameterSpan> vectors, size_t byzantine, size_t keep);

}  // namespace edgefl::algorithms
