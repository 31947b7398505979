// The gossip (mixing) matrix W of decentralized training: node i's next
// model is Σ_j W_ij y_j over itself and its neighbours (dsgd.h). Stored as
// sparse rows, nodes ascending, so a mix walks them in a fixed order.
//
// Metropolis–Hastings weights (Xiao & Boyd 2004; Boyd et al. 2004, "Fastest
// mixing Markov chain"), over the LIVE subgraph only:
//   W_ij = 1 / (1 + max(d_i, d_j))  for each edge between live i and j,
//   W_ii = 1 − Σ_{j≠i} W_ij,
// with d the degree among live nodes. A node that is not live has the row
// e_i (it keeps its model and nobody mixes it in), so W stays symmetric,
// non-negative and doubly stochastic over the live nodes after any set of
// drop-outs: the neighbours of a dropped node re-weight themselves.
// W_ii is computed as 1/(1+d_i) + Σ_j (1/(1+d_i) − W_ij), algebraically the
// same; on a regular graph (ring, torus, complete) every term of the sum is
// exactly 0, so W_ii equals the other weights of the row bit for bit (the
// complete graph gives exactly the FedAvg weights 1/n).
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "algorithms/topology.h"

namespace edgefl::algorithms {

struct MixingRow {
  std::vector<size_t> nodes;    // ascending; includes the node itself
  std::vector<double> weights;  // W_ij for nodes[k] = j
};

using MixingMatrix = std::vector<MixingRow>;

// Metropolis–Hastings weights over the nodes with live[i] (all when `live`
// is empty). REQUIRES: live is empty or has graph.size() entries (else
// ConfigError).
MixingMatrix MetropolisHastings(const Graph& graph, const std::vector<bool>& live = {});

// I − β(I − W): the consensus weight β of Swenson et al.'s D-SGD applied to
// W (β = 1 is W itself, returned unchanged; β = 0 is no mixing). Stays
// symmetric and doubly stochastic; non-negative for β in [0, 1].
// REQUIRES: β in [0, 1] (else ConfigError).
MixingMatrix WithConsensusWeight(MixingMatrix w, double beta);

// Node i's row of WithConsensusWeight(MetropolisHastings(graph, live), β)
// from what node i knows on its own (D-SGD between processes, where no one
// holds the graph's live set): its live degree d_i and, for each neighbour j
// whose vector it mixes, j's live degree d_j as j reported it. `neighbours`
// holds (j, d_j), ascending j, without i. The same arithmetic as the matrix
// functions, so when every d is the live degree over the same live set the
// row is bit for bit the matrix's row i. A neighbour counted in d_i whose
// vector did not arrive is simply absent: the row still sums to 1 (W_ii
// takes its weight), but its column may then not, for that round
// (docs/algorithms.md, D-SGD between processes).
// REQUIRES: β in [0, 1] (else ConfigError).
MixingRow MetropolisHastingsRow(size_t self, size_t self_degree,
                                std::span<const std::pair<size_t, size_t>> neighbours,
                                double beta = 1.0);

// The dense n x n matrix (tests, reports).
Eigen::MatrixXd Dense(const MixingMatrix& w);

// max over rows and columns of |Σ − 1|, and of |W_ij − W_ji|; +infinity if
// any weight is negative. 0 (up to rounding) for a symmetric doubly
// stochastic matrix.
double DoublyStochasticError(const MixingMatrix& w);

}  // namespace edgefl::algorithms
