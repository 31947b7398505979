// Dropout stability (Shevchenko & Mondelli 2020, arXiv 1912.10095, §3
// "dropout stability"): keep a subset S of a hidden layer's N neurons,
// rescale the kept neurons' output weights by N/|S| and zero the others'
// (the paper's mean-field network (1/N) Σ a_i σ(w_i·x) restricted to S
// is (1/|S|) Σ_{i∈S} a_i σ(w_i·x): the same rescaling in a network whose
// 1/N is folded into the output weights). θ is ε-dropout stable when the
// loss changes by at most ε.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "analysis/hidden_layer.h"
#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::analysis {

// `params` with only the neurons j where keep[j] is true: their output
// weights times N/|S|, every other neuron's output weights 0. All other
// parameters (input weights, biases, other layers) unchanged. With every
// neuron kept the result equals `params` bit for bit. Throws ConfigError if
// keep.size() != N, no neuron is kept or params has the wrong size.
Eigen::VectorXf KeepNeurons(const HiddenLayer& layer, const Eigen::VectorXf& params,
                            const std::vector<bool>& keep);

struct DropoutPoint {
  double fraction = 0.0;   // as asked
  Eigen::Index kept = 0;   // max(1, round(fraction * N)) neurons
  double loss_mean = 0.0;  // over the draws
  double loss_min = 0.0;
  double loss_max = 0.0;
};

struct DropoutCurve {
  double full_loss = 0.0;  // the model's own loss
  std::vector<DropoutPoint> points;
};

// For each fraction in (0, 1], the loss after keeping that fraction of the
// layer's neurons (KeepNeurons), over `draws` random subsets. Draw d orders
// the neurons by one permutation from Rng::Derive(seed, {d}) and keeps a
// prefix, so the kept sets of one draw are nested as the fraction grows.
// Fraction 1 keeps every neuron: exactly full_loss. Throws ConfigError for
// a fraction outside (0, 1] or draws < 1.
DropoutCurve MeasureDropoutStability(nn::Model& model, const Eigen::VectorXf& params,
                                     const datasets::Dataset& data, const HiddenLayer& layer,
                                     std::span<const double> fractions, int draws, uint64_t seed);

}  // namespace edgefl::analysis
