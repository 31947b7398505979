// A coarse input router: k-means on the raw input features, learned from a
// seeded sample of a dataset (DiPaCo's "coarse routing", Douillard et al.
// 2024, arXiv 2403.10616 §2: the data is pre-sharded by k-means before
// training, and each sequence goes to the path of its shard; the paper
// clusters features of a fixed pretrained model, edgefl clusters the inputs).
//
// Fit: k-means++ seeding (Arthur & Vassilvitskii 2007) on at most
// `sample_size` rows drawn without replacement, then Lloyd iterations until
// no assignment changes or `iterations` are done; an emptied cluster keeps
// its centroid. Every random choice comes from Rng::Derive(seed, ...), so a
// seed gives the same centroids on every run of the same build.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"

namespace edgefl::datasets {

class KMeansRouter {
 public:
  // REQUIRES: centroids.rows() > 0. Row c is centroid c.
  explicit KMeansRouter(Eigen::MatrixXf centroids) : centroids_(std::move(centroids)) {}

  size_t num_routes() const { return static_cast<size_t>(centroids_.rows()); }
  size_t dim() const { return static_cast<size_t>(centroids_.cols()); }
  const Eigen::MatrixXf& centroids() const { return centroids_; }

  // The nearest centroid (squared Euclidean distance; ties to the lowest
  // index) of one sample. REQUIRES: features.size() == dim().
  size_t Route(std::span<const float> features) const;
  // Route() of every row of `data`. Throws ConfigError if its dimension
  // differs from the centroids'.
  std::vector<size_t> RouteAll(const Dataset& data) const;

 private:
  Eigen::MatrixXf centroids_;
};

// Learns a router with `routes` centroids from `data`. Throws ConfigError
// when routes is 0 or more than the rows sampled, or sample_size or
// iterations is 0.
KMeansRouter FitKMeansRouter(const Dataset& data, size_t routes, uint64_t seed,
                             size_t sample_size = 2000, int iterations = 25);

}  // namespace edgefl::datasets
