// The "kmeans" partition: the data pre-sharded by a k-means router on the
// inputs (kmeans_router.h), as DiPaCo pre-shards its corpus (arXiv
// 2403.10616 §2). The router has spec.clusters routes and is fitted with
// FitKMeansRouter(data, spec.clusters, spec.seed); client k holds samples of
// route k mod clusters, each route's samples dealt in a seeded shuffled
// order round-robin to its clients (sizes within ±1).
#pragma once

#include "datasets/dataset.h"
#include "datasets/kmeans_router.h"
#include "datasets/partition.h"

namespace edgefl::datasets {

// REQUIRES spec.scheme == kKMeans. Throws ConfigError for clusters outside
// [1, num_clients], more clients than samples, or a route with fewer samples
// than its clients (every client must hold one).
Partition MakeKMeansPartition(const PartitionSpec& spec, const Dataset& data);

// The router MakeKMeansPartition shards with.
KMeansRouter PartitionRouter(const PartitionSpec& spec, const Dataset& data);

}  // namespace edgefl::datasets
