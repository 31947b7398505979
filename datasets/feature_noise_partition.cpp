#include "datasets/partitioners.h"

namespace edgefl::datasets::internal {

ClientIndices FeatureNoisePartition(size_t n, const PartitionSpec& spec) {
  // The same clients as an IID partition with this seed, so an experiment
  // with noise can be compared with its noise-free baseline sample for sample.
  return IidPartition(n, spec);
}

std::vector<float> FeatureNoiseStd(size_t num_clients, double noise) {
  std::vector<float> stds(num_clients, 0.0f);
  if (num_clients < 2) return stds;
  for (size_t i = 0; i < num_clients; ++i) {
    stds[i] =
        static_cast<float>(noise * static_cast<double>(i) / static_cast<double>(num_clients - 1));
  }
  return stds;
}

}  // namespace edgefl::datasets::internal
