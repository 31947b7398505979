#include "datasets/kmeans_router.h"

#include <limits>
#include <numeric>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::datasets {
namespace {

constexpr uint64_t kSampleStream = 0x6b6d53;  // "kmS"
constexpr uint64_t kSeedStream = 0x6b6d2b;    // "km+"

size_t Nearest(const Eigen::MatrixXf& centroids, const Eigen::Ref<const Eigen::RowVectorXf>& x,
               float* distance = nullptr) {
  size_t best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (Eigen::Index c = 0; c < centroids.rows(); ++c) {
    const float d = (centroids.row(c) - x).squaredNorm();
    if (d < best_d) {
      best_d = d;
      best = static_cast<size_t>(c);
    }
  }
  if (distance != nullptr) *distance = best_d;
  return best;
}

}  // namespace

size_t KMeansRouter::Route(std::span<const float> features) const {
  const Eigen::Map<const Eigen::RowVectorXf> x(features.data(),
                                               static_cast<Eigen::Index>(features.size()));
  return Nearest(centroids_, x);
}

std::vector<size_t> KMeansRouter::RouteAll(const Dataset& data) const {
  if (data.dim() != dim()) {
    throw ConfigError("router: " + data.name + " has " + std::to_string(data.dim()) +
                      " features, the router's centroids " + std::to_string(dim()));
  }
  std::vector<size_t> routes(data.size());
  for (size_t i = 0; i < data.size(); ++i)
    routes[i] = Nearest(centroids_, data.features.row(static_cast<Eigen::Index>(i)));
  return routes;
}

KMeansRouter FitKMeansRouter(const Dataset& data, size_t routes, uint64_t seed, size_t sample_size,
                             int iterations) {
  if (sample_size == 0 || iterations <= 0) {
    throw ConfigError("router: the k-means sample and iterations must be > 0");
  }
  const size_t n = std::min(sample_size, data.size());
  if (routes == 0 || routes > n) {
    throw ConfigError("router: " + std::to_string(routes) + " routes need 1 to " +
                      std::to_string(n) + " sampled samples of " + data.name);
  }
  // The sample: the first n of a seeded shuffle of the row indices.
  std::vector<uint32_t> order(data.size());
  std::iota(order.begin(), order.end(), 0u);
  Rng sample_rng = Rng::Derive(seed, {kSampleStream});
  sample_rng.Shuffle(order);
  order.resize(n);
  const auto dim = static_cast<Eigen::Index>(data.dim());
  FeatureMatrix x(static_cast<Eigen::Index>(n), dim);
  for (size_t i = 0; i < n; ++i)
    x.row(static_cast<Eigen::Index>(i)) = data.features.row(static_cast<Eigen::Index>(order[i]));

  // k-means++: the first centroid uniformly, each next one with probability
  // proportional to the squared distance to the nearest centroid so far.
  Rng rng = Rng::Derive(seed, {kSeedStream});
  Eigen::MatrixXf centroids(static_cast<Eigen::Index>(routes), dim);
  centroids.row(0) = x.row(static_cast<Eigen::Index>(rng.UniformInt(n)));
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  for (size_t c = 1; c < routes; ++c) {
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double d =
          (x.row(static_cast<Eigen::Index>(i)) - centroids.row(static_cast<Eigen::Index>(c - 1)))
              .squaredNorm();
      nearest[i] = std::min(nearest[i], d);
      total += nearest[i];
    }
    size_t pick = static_cast<size_t>(rng.UniformInt(n));
    if (total > 0.0) {
      double target = rng.Uniform() * total;
      for (size_t i = 0; i < n; ++i) {
        target -= nearest[i];
        if (target < 0.0 || i + 1 == n) {
          pick = i;
          break;
        }
      }
    }
    centroids.row(static_cast<Eigen::Index>(c)) = x.row(static_cast<Eigen::Index>(pick));
  }

  // Lloyd: assign, then move each centroid to the mean of its members.
  std::vector<size_t> assignment(n, routes);
  for (int it = 0; it < iterations; ++it) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      const size_t a = Nearest(centroids, x.row(static_cast<Eigen::Index>(i)));
      if (a != assignment[i]) changed = true;
      assignment[i] = a;
    }
    if (!changed) break;
    Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(routes), dim);
    std::vector<size_t> counts(routes, 0);
    for (size_t i = 0; i < n; ++i) {
      sums.row(static_cast<Eigen::Index>(assignment[i])) +=
          x.row(static_cast<Eigen::Index>(i)).cast<double>();
      ++counts[assignment[i]];
    }
    for (size_t c = 0; c < routes; ++c) {
      if (counts[c] > 0) {
        centroids.row(static_cast<Eigen::Index>(c)) =
            (sums.row(static_cast<Eigen::Index>(c)) / static_cast<double>(counts[c])).cast<float>();
      }
    }
  }
  return KMeansRouter(std::move(centroids));
}

}  // namespace edgefl::datasets
