// One minibatch as the trainer hands it to a local objective.
#pragma once

#include <cstdint>
#include <span>

#include <Eigen/Core>

namespace edgefl::train {

struct Batch {
  // input_dim x B, one sample per column (a view into the trainer's buffer,
  // valid for the current step only).
  Eigen::Map<const Eigen::MatrixXf> x;
  std::span<const int32_t> labels;  // B labels
  // Positions of the samples in the local dataset.
  std::span<const uint32_t> indices;

  Eigen::Index size() const { return x.cols(); }
};

}  // namespace edgefl::train
