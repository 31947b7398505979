// Paths between two models θ_A and θ_B of one mlp spec, and the loss along
// them (Shevchenko & Mondelli 2020, arXiv 1912.10095, the connectivity
// theorem for two-layer networks, whose path follows Kuditipudi et al.
// 2019, arXiv 1906.06247; docs/algorithms.md says what was read).
//
// The straight line: θ(t) = θ_A + t (θ_B − θ_A).
//
// The dropout path, for an mlp with ONE hidden layer of N neurons,
// S_A = the first ⌊N/2⌋ neurons, S_B = the others. Five linear pieces
// between six corners; each piece changes either only the output layer
// (W2, b2), along which the loss is convex (the logits are linear in the
// output layer and cross-entropy is convex in the logits), or only the
// input weights of neurons whose output weights are zero, which leaves the
// network's function — hence the loss — exactly unchanged:
//   P0 = θ_A
//   P1 = θ_A with only S_A kept (output weights ×N/|S_A|, others 0)   [output layer]
//   P2 = P1, the neurons outside S_A get θ_B's input weights           [free move]
//   P3 = output layer of θ_B with only S_B kept (×N/|S_B|, S_A 0)      [output layer]
//   P4 = P3, the neurons in S_A get θ_B's input weights                [free move]
//   P5 = θ_B                                                           [output layer]
// P3 computes θ_B's dropout network on S_B; P4 is exactly that network with
// all of θ_B's input weights. So the loss on the path is at most
// max(L(θ_A), L(θ_A|S_A), L(θ_B|S_B), L(θ_B)): the barrier is bounded by
// the worse dropout gap of the two models.
#pragma once

#include <vector>

#include <Eigen/Core>

#include "analysis/hidden_layer.h"
#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::analysis {

// a + t (b − a) for t < 1/2, b − (1 − t)(b − a) otherwise: exactly a at
// t = 0, exactly b at t = 1, and exactly a at every t when a == b.
Eigen::VectorXf Interpolate(const Eigen::VectorXf& a, const Eigen::VectorXf& b, double t);

// The six corners P0..P5 above. Throws ConfigError unless `layer` is the
// only hidden layer of its mlp, it has at least 2 neurons, and a and b have
// the spec's size.
std::vector<Eigen::VectorXf> DropoutPathCorners(const HiddenLayer& layer, const Eigen::VectorXf& a,
                                                const Eigen::VectorXf& b);

// The loss along a piecewise-linear path through `corners` (2 corners: the
// straight line), each piece sampled at `points_per_piece` + 1 evenly spaced
// points (its ends shared with the neighbours), the whole path on t in [0, 1]
// with equal length per piece.
struct PathProfile {
  std::vector<double> t;
  std::vector<double> loss;
  double loss_a = 0.0;  // loss.front()
  double loss_b = 0.0;  // loss.back()
  // max over the samples of loss − max(loss_a, loss_b): 0 when the path
  // never rises above its worse end (it includes the ends, so it is >= 0).
  double barrier = 0.0;
};

// Throws ConfigError for fewer than 2 corners or points_per_piece < 1.
PathProfile MeasurePath(nn::Model& model, const std::vector<Eigen::VectorXf>& corners,
                        const datasets::Dataset& data, int points_per_piece);

}  // namespace edgefl::analysis
