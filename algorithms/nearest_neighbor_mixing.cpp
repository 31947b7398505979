#include "algorithms/nearest_neighbor_mixing.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {

std::vector<Eigen::VectorXf> NearestNeighborMixing(std::span<const ParameterSpan> vectors,
                                                   size_t byzantine) {
  const size_t n = vectors.size();
  if (n == 0) throw ConfigError("nearest-neighbour mixing: no vectors to aggregate");
  if (2 * byzantine >= n) {
    throw ConfigError("nearest-neighbour mixing: " + std::to_string(n) +
                      " inputs cannot tolerate " + std::to_string(byzantine) +
                      " Byzantine ones (it needs n > 2f)");
  }
  const std::vector<double> d2 = PairwiseSquaredDistances(vectors);
  const size_t k = n - byzantine;
  const std::vector<double> equal(k, 1.0);
  std::vector<Eigen::VectorXf> mixed;
  mixed.reserve(n);
  std::vector<size_t> order(n);
  std::vector<ParameterSpan> neighbours(k);
  for (size_t i = 0; i < n; ++i) {
    std::iota(order.begin(), order.end(), size_t{0});
    // By distance to x_i, then index: x_i (distance 0) comes first unless
    // an identical input has a lower index, which gives the same mixture.
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return d2[i * n + a] < d2[i * n + b]; });
    for (size_t r = 0; r < k; ++r)
      neighbours[r] = vectors[order[r]];
    mixed.push_back(WeightedMean(neighbours, equal));
  }
  return mixed;
}

}  // namespace edgefl::algorithms
