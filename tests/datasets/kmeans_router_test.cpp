// The k-means input router and the "kmeans" partition it shards with
// (datasets/kmeans_router.h, datasets/kmeans_partition.h).
#include "datasets/kmeans_router.h"

#include <set>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "datasets/kmeans_partition.h"

namespace edgefl::datasets {
namespace {

// `per_blob` samples around each of `centres` (1-D offsets on both axes).
Dataset Blobs(const std::vector<float>& centres, Eigen::Index per_blob, uint64_t seed) {
  Dataset data;
  data.name = "blobs";
  data.num_classes = static_cast<int>(centres.size());
  const auto n = per_blob * static_cast<Eigen::Index>(centres.size());
  data.features.resize(n, 3);
  Rng rng(seed);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto blob = static_cast<size_t>(i % static_cast<Eigen::Index>(centres.size()));
    for (Eigen::Index j = 0; j < 3; ++j)
      data.features(i, j) = centres[blob] + 0.2f * static_cast<float>(rng.Normal());
    data.labels.push_back(static_cast<int32_t>(blob));
  }
  return data;
}

}  // namespace

TEST_CASE("k-means router puts each well separated blob on one route") {
  const Dataset data = Blobs({-10.0f, 0.0f, 10.0f}, 50, 1);
  const KMeansRouter router = FitKMeansRouter(data, 3, 7);
  CHECK(router.num_routes() == 3);
  const std::vector<size_t> routes = router.RouteAll(data);
  std::set<size_t> seen;
  for (size_t blob = 0; blob < 3; ++blob) {
    for (size_t i = blob; i < routes.size(); i += 3)
      CHECK(routes[i] == routes[blob]);
    seen.insert(routes[blob]);
  }
  CHECK(seen.size() == 3);
  // The same seed gives the same centroids.
  const KMeansRouter again = FitKMeansRouter(data, 3, 7);
  CHECK((again.centroids().array() == router.centroids().array()).all());
  CHECK_THROWS_AS(FitKMeansRouter(data, 0, 7), ConfigError);
  CHECK_THROWS_AS(FitKMeansRouter(data, 200, 7), ConfigError);
}

TEST_CASE("kmeans partition gives client k the samples of route k mod clusters") {
  const Dataset data = Blobs({-10.0f, 10.0f}, 30, 2);
  PartitionSpec spec;
  spec.scheme = PartitionScheme::kKMeans;
  spec.num_clients = 5;
  spec.clusters = 2;
  spec.seed = 3;
  const Partition p = MakeKMeansPartition(spec, data);
  REQUIRE(p.num_clients() == 5);
  const std::vector<size_t> routes = PartitionRouter(spec, data).RouteAll(data);
  std::vector<int> held(data.size(), 0);
  for (size_t k = 0; k < 5; ++k) {
    CHECK(!p.clients[k].empty());
    for (uint32_t i : p.clients[k]) {
      CHECK(routes[i] == k % 2);
      ++held[i];
    }
  }
  for (int h : held)
    CHECK(h == 1);
  // Route 0's 30 samples over clients 0, 2, 4: 10 each.
  CHECK(p.clients[0].size() + p.clients[2].size() + p.clients[4].size() == 30);
  CHECK(p.clients[2].size() == 10);
  spec.clusters = 6;
  CHECK_THROWS_AS(MakeKMeansPartition(spec, data), ConfigError);
  // The label-only entry point says where to go instead.
  spec.clusters = 2;
  CHECK_THROWS_AS(MakePartition(spec, data.labels, 2, "blobs"), ConfigError);
}

}  // namespace edgefl::datasets
