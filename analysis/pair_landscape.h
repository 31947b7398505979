// The two loss profiles between one pair of models that `edgefl analyze`
// and the report's Landscape section show: the straight line, and the
// dropout path (connecting_path.h) when the model has one hidden layer.
#pragma once

#include <optional>

#include <Eigen/Core>

#include "analysis/connecting_path.h"
#include "analysis/hidden_layer.h"
#include "datasets/dataset.h"
#include "nn/model.h"

namespace edgefl::analysis {

struct PairLandscape {
  PathProfile line;
  std::optional<PathProfile> path;  // nullopt unless layer.hidden_layers() == 1
};

// The straight line from a to b sampled at 5 * points_per_piece + 1 points
// (as many as the dropout path's five pieces), and the dropout path with
// points_per_piece + 1 points per piece when `layer` is the only hidden
// layer of its mlp. Throws ConfigError as MeasurePath and
// DropoutPathCorners do.
PairLandscape MeasurePair(nn::Model& model, const HiddenLayer& layer, const Eigen::VectorXf& a,
                          const Eigen::VectorXf& b, const datasets::Dataset& data,
                          int points_per_piece);

}  // namespace edgefl::analysis
