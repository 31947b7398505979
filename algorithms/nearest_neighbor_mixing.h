// Nearest-neighbour mixing, NNM (Allouah, Farhadkhani, Guerraoui, Gupta,
// Pinot, Stephan, "Fixing by Mixing: A Recipe for Optimal Byzantine ML
// under Heterogeneity", AISTATS 2023, Algorithm 1): a pre-aggregation that
// replaces each input x_i by
//     y_i = (1 / (n − f)) Σ_{j ∈ N_i} x_j,
// N_i the n − f inputs nearest to x_i in Euclidean distance, x_i itself
// included. A robust rule then runs on y_1..y_n. Each y_i is a mean over at
// least n − 2f honest inputs, so the honest spread the rule sees shrinks
// while an attacker's influence is diluted in every mixture it enters; the
// paper proves that median, trimmed mean, Krum and others reach the optimal
// error under heterogeneity with it (f < n/2).
//
// Source: the paper and its authors' library (byzfl, preaggregators.py NNM:
// the k = n − f smallest of each row of the distance matrix, the row's own
// zero included). Ties in distance go to the lower index here.
//
// Errors (ConfigError naming the argument): no vectors, vectors of
// different sizes, 2f >= n.
//
// Thread-safety: a pure function; call it from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "algorithms/aggregate.h"

namespace edgefl::algorithms {

// y_1..y_n for `vectors` and `byzantine` = f. f = 0 gives n copies of the
// mean. Sums in double.
std::vector<Eigen::VectorXf> NearestNeighborMixing(std::span<const ParameterSpan> vectors,
                                                   size_t byzantine);

}  // namespace edgefl::algorithms
