#include "analysis/pair_landscape.h"

namespace edgefl::analysis {

PairLandscape MeasurePair(nn::Model& model, const HiddenLayer& layer, const Eigen::VectorXf& a,
                          const Eigen::VectorXf& b, const datasets::Dataset& data,
                          int points_per_piece) {
  PairLandscape out;
  out.line = MeasurePath(model, {a, b}, data, 5 * points_per_piece);
  if (layer.hidden_layers() == 1) {
    out.path = MeasurePath(model, DropoutPathCorners(layer, a, b), data, points_per_piece);
  }
  return out;
}

}  // namespace edgefl::analysis
