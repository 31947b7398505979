#include "algorithms/mixing_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

MixingMatrix MetropolisHastings(const Graph& graph, const std::vector<bool>& live) {
  const size_t n = graph.size();
  if (!live.empty() && live.size() != n) {
    throw ConfigError("MetropolisHastings: " + std::to_string(live.size()) +
                      " live flags for a graph of " + std::to_string(n) + " nodes");
  }
  auto is_live = [&](size_t i) { return live.empty() || live[i]; };
  std::vector<size_t> degree(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!is_live(i)) continue;
    for (size_t j : graph.neighbors[i])
      degree[i] += is_live(j) ? 1 : 0;
  }
  MixingMatrix w(n);
  for (size_t i = 0; i < n; ++i) {
    MixingRow& row = w[i];
    if (!is_live(i)) {
      row.nodes = {i};
      row.weights = {1.0};
      continue;
    }
    const double own = 1.0 / (1.0 + static_cast<double>(degree[i]));
    double self = own;
    bool self_placed = false;
    size_t self_index = 0;
    for (size_t j : graph.neighbors[i]) {
      if (!is_live(j)) continue;
      if (!self_placed && j > i) {
        self_index = row.nodes.size();
        row.nodes.push_back(i);
        row.weights.push_back(0.0);
        self_placed = true;
      }
      const double wij = 1.0 / (1.0 + static_cast<double>(std::max(degree[i], degree[j])));
      self += own - wij;
      row.nodes.push_back(j);
      row.weights.push_back(wij);
    }
    if (!self_placed) {
      self_index = row.nodes.size();
      row.nodes.push_back(i);
      row.weights.push_back(0.0);
    }
    row.weights[self_index] = self;
  }
  return w;
}

MixingMatrix WithConsensusWeight(MixingMatrix w, double beta) {
  if (!(beta >= 0.0 && beta <= 1.0)) {
    throw ConfigError("consensus weight beta must be in [0, 1], got " + ShortNumber(beta));
  }
  if (beta == 1.0) return w;
  for (size_t i = 0; i < w.size(); ++i) {
    MixingRow& row = w[i];
    for (size_t k = 0; k < row.nodes.size(); ++k) {
      if (row.nodes[k] == i) {
        row.weights[k] = 1.0 - beta * (1.0 - row.weights[k]);
      } else {
        row.weights[k] *= beta;
      }
    }
  }
  return w;
}

MixingRow MetropolisHastingsRow(size_t self, size_t self_degree,
                                std::span<const std::pair<size_t, size_t>> neighbours,
                                double beta) {
  if (!(beta >= 0.0 && beta <= 1.0)) {
    throw ConfigError("consensus weight beta must be in [0, 1], got " + ShortNumber(beta));
  }
  MixingRow row;
  const double own = 1.0 / (1.0 + static_cast<double>(self_degree));
  double weight_self = own;
  bool self_placed = false;
  size_t self_index = 0;
  for (const auto& [j, degree] : neighbours) {
    if (!self_placed && j > self) {
      self_index = row.nodes.size();
      row.nodes.push_back(self);
      row.weights.push_back(0.0);
      self_placed = true;
    }
    const double wij = 1.0 / (1.0 + static_cast<double>(std::max(self_degree, degree)));
    weight_self += own - wij;
    row.nodes.push_back(j);
    row.weights.push_back(wij);
  }
  if (!self_placed) {
    self_index = row.nodes.size();
    row.nodes.push_back(self);
    row.weights.push_back(0.0);
  }
  // Σ_j (own − W_ij) is 1 − Σ_j W_ij − own only over d_i neighbours: a
  // neighbour counted in d_i but absent (or present but not counted) moves
  // `own` to (from) the self weight, so the row sums to 1 either way.
  if (neighbours.size() != self_degree) {
    weight_self +=
        (static_cast<double>(self_degree) - static_cast<double>(neighbours.size())) * own;
  }
  row.weights[self_index] = weight_self;
  if (beta != 1.0) {
    for (size_t k = 0; k < row.nodes.size(); ++k) {
      row.weights[k] =
          k == self_index ? 1.0 - beta * (1.0 - row.weights[k]) : row.weights[k] * beta;
    }
  }
  return row;
}

Eigen::MatrixXd Dense(const MixingMatrix& w) {
  const auto n = static_cast<Eigen::Index>(w.size());
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(n, n);
  for (size_t i = 0; i < w.size(); ++i) {
    for (size_t k = 0; k < w[i].nodes.size(); ++k) {
      dense(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(w[i].nodes[k])) =
          w[i].weights[k];
    }
  }
  return dense;
}

double DoublyStochasticError(const MixingMatrix& w) {
  const Eigen::MatrixXd d = Dense(w);
  if (d.size() > 0 && d.minCoeff() < 0.0) return std::numeric_limits<double>::infinity();
  const double rows = (d.rowwise().sum().array() - 1.0).abs().maxCoeff();
  const double cols = (d.colwise().sum().array() - 1.0).abs().maxCoeff();
  const double asym = (d - d.transpose()).cwiseAbs().maxCoeff();
  return std::max({rows, cols, asym});
}

}  // namespace edgefl::algorithms
