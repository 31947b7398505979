// The mean softmax cross-entropy of a parameter vector on a dataset, the
// loss every landscape measure is made of. Deterministic: the same logits
// give the same loss bit for bit (fixed batch split, fixed summation order).
#pragma once

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::analysis {

// Sets `params` into `model` and returns the mean loss over all of `data`
// (0 for an empty set). Throws ConfigError if the sizes do not fit the model.
double MeanLoss(nn::Model& model, const Eigen::VectorXf& params, const datasets::Dataset& data);

}  // namespace edgefl::analysis
