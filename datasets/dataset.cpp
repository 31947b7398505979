#include "datasets/dataset.h"

#include "common/error.h"

namespace edgefl::datasets {

std::vector<size_t> ClassCounts(const std::vector<int32_t>& labels, int num_classes) {
  std::vector<size_t> counts(static_cast<size_t>(num_classes), 0);
  for (int32_t y : labels) {
    if (y >= 0 && y < num_classes) ++counts[static_cast<size_t>(y)];
  }
  return counts;
}

Dataset Subset(const Dataset& data, const std::vector<uint32_t>& indices) {
  Dataset out;
  out.name = data.name;
  out.num_classes = data.num_classes;
  out.sample_shape = data.sample_shape;
  out.features.resize(static_cast<Eigen::Index>(indices.size()), data.features.cols());
  out.labels.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const uint32_t src = indices[i];
    if (src >= data.size()) {
      throw ConfigError("subset of " + data.name + ": index " + std::to_string(src) +
                        " out of range (dataset has " + std::to_string(data.size()) + " samples)");
    }
    out.features.row(static_cast<Eigen::Index>(i)) = data.features.row(src);
    out.labels[i] = data.labels[src];
  }
  return out;
}

}  // namespace edgefl::datasets
