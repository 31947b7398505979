#include "algorithms/bucketing.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {

std::vector<size_t> BucketOrder(size_t count, Rng& rng) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t{0});
  rng.Shuffle(order);
  return order;
}

std::vector<Eigen::VectorXf> BucketMeans(std::span<const ParameterSpan> vectors, size_t bucket_size,
                                         Rng& rng) {
  if (vectors.empty()) throw ConfigError("BucketMeans: no vectors to aggregate");
  if (bucket_size == 0) throw ConfigError("BucketMeans: bucket_size must be >= 1, got 0");
  const size_t size = vectors[0].size();
  for (size_t k = 1; k < vectors.size(); ++k) {
    if (vectors[k].size() != size) {
      throw ConfigError("BucketMeans: vectors[" + std::to_string(k) + "] has " +
                        std::to_string(vectors[k].size()) + " values, vectors[0] has " +
                        std::to_string(size));
    }
  }
  const std::vector<size_t> order = BucketOrder(vectors.size(), rng);
  std::vector<Eigen::VectorXf> means;
  means.reserve((order.size() + bucket_size - 1) / bucket_size);
  for (size_t start = 0; start < order.size(); start += bucket_size) {
    const size_t end = std::min(order.size(), start + bucket_size);
    std::vector<ParameterSpan> members;
    for (size_t i = start; i < end; ++i)
      members.push_back(vectors[order[i]]);
    // Equal weights: the plain mean of the bucket (WeightedMean sums in double).
    means.push_back(WeightedMean(members, std::vector<double>(members.size(), 1.0)));
  }
  return means;
}

}  // namespace edgefl::algorithms
