#include "datasets/kmeans_partition.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::datasets {
namespace {

constexpr uint64_t kDealStream = 0x6b6d44;  // "kmD"

}  // namespace

KMeansRouter PartitionRouter(const PartitionSpec& spec, const Dataset& data) {
  return FitKMeansRouter(data, spec.clusters, spec.seed);
}

Partition MakeKMeansPartition(const PartitionSpec& spec, const Dataset& data) {
  if (spec.scheme != PartitionScheme::kKMeans) {
    throw ConfigError("partition: MakeKMeansPartition needs scheme kmeans");
  }
  if (spec.num_clients == 0 || spec.num_clients > data.size()) {
    throw ConfigError("partition: " + std::to_string(spec.num_clients) + " clients for " +
                      std::to_string(data.size()) + " samples");
  }
  if (spec.clusters == 0 || spec.clusters > spec.num_clients) {
    throw ConfigError("partition: kmeans needs 1 to " + std::to_string(spec.num_clients) +
                      " clusters (one or more clients each), got " + std::to_string(spec.clusters));
  }
  const std::vector<size_t> routes = PartitionRouter(spec, data).RouteAll(data);
  std::vector<std::vector<uint32_t>> members(spec.clusters);
  for (size_t i = 0; i < routes.size(); ++i)
    members[routes[i]].push_back(static_cast<uint32_t>(i));
  Partition partition;
  partition.spec = spec;
  partition.dataset = data.name;
  partition.num_samples = data.size();
  partition.noise_std.assign(spec.num_clients, 0.0f);
  partition.clients.resize(spec.num_clients);
  for (size_t c = 0; c < spec.clusters; ++c) {
    const size_t holders = (spec.num_clients - c + spec.clusters - 1) / spec.clusters;
    if (members[c].size() < holders) {
      throw ConfigError("partition: kmeans route " + std::to_string(c) + " has " +
                        std::to_string(members[c].size()) + " samples for its " +
                        std::to_string(holders) + " clients (use fewer clusters)");
    }
    Rng rng = Rng::Derive(spec.seed, {kDealStream, c});
    rng.Shuffle(members[c]);
    for (size_t j = 0; j < members[c].size(); ++j)
      partition.clients[c + (j % holders) * spec.clusters].push_back(members[c][j]);
  }
  for (std::vector<uint32_t>& client : partition.clients)
    std::sort(client.begin(), client.end());
  return partition;
}

}  // namespace edgefl::datasets
