#include <algorithm>
#include <numeric>

#include "common/random.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets::internal {

ClientIndices ShardPartition(std::span<const int32_t> labels, int /*num_classes*/,
                             const PartitionSpec& spec) {
  const size_t n = labels.size();
  Rng rng = Rng::Derive(spec.seed, {kShardStream});

  // Sorted by label, in random order within each label.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), uint32_t{0});
  rng.Shuffle(order);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return labels[a] < labels[b]; });

  // Shard s is order[s * n / S, (s + 1) * n / S): sizes differ by at most one.
  const size_t per_client = spec.classes_per_client;
  const size_t num_shards = spec.num_clients * per_client;
  std::vector<size_t> shard_ids(num_shards);
  std::iota(shard_ids.begin(), shard_ids.end(), size_t{0});
  rng.Shuffle(shard_ids);

  ClientIndices clients(spec.num_clients);
  for (size_t c = 0; c < spec.num_clients; ++c) {
    for (size_t j = 0; j < per_client; ++j) {
      const size_t s = shard_ids[c * per_client + j];
      const size_t begin = s * n / num_shards;
      const size_t end = (s + 1) * n / num_shards;
      clients[c].insert(clients[c].end(), order.begin() + static_cast<std::ptrdiff_t>(begin),
                        order.begin() + static_cast<std::ptrdiff_t>(end));
    }
  }
  return clients;
}

}  // namespace edgefl::datasets::internal
