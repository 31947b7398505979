// An in-memory labelled dataset: one row of float features per sample.
//
// Row i of `features` is sample i (row-major, so a sample's features are
// contiguous and a batch of consecutive rows is a dense block). `labels[i]`
// is in [0, num_classes). `sample_shape` records the original layout of a
// row, e.g. {1, 28, 28} for Fashion-MNIST images or {60} for tabular data;
// its product equals features.cols().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace edgefl::datasets {

using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Dataset {
  std::string name;             // e.g. "fmnist/train"
  FeatureMatrix features;       // n x d
  std::vector<int32_t> labels;  // n labels in [0, num_classes)
  int num_classes = 0;
  std::vector<int> sample_shape;  // product == d

  size_t size() const { return labels.size(); }
  size_t dim() const { return static_cast<size_t>(features.cols()); }
};

// Per-class sample counts of `labels` (length num_classes).
std::vector<size_t> ClassCounts(const std::vector<int32_t>& labels, int num_classes);

// The rows of `data` listed in `indices`, in that order, as a new dataset.
// Throws ConfigError if an index is out of range.
Dataset Subset(const Dataset& data, const std::vector<uint32_t>& indices);

}  // namespace edgefl::datasets
