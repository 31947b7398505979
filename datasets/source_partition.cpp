#include "datasets/source_partition.h"

#include <numeric>
#include <vector>

#include "common/error.h"

namespace edgefl::datasets {

Partition MakeSourcePartition(const PartitionSpec& spec, std::span<const uint32_t> sources,
                              size_t num_sources, const std::string& dataset_name) {
  const size_t n = sources.size();
  const size_t clients = spec.num_clients;
  if (clients == 0) throw ConfigError("partition by_source: num_clients must be > 0, got 0");
  if (clients > n) {
    throw ConfigError("partition by_source: " + std::to_string(clients) + " clients but only " +
                      std::to_string(n) + " training sequences in " + dataset_name);
  }
  // [begin, end) of each source's samples.
  std::vector<size_t> begin(num_sources, 0), count(num_sources, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t s = sources[i];
    if (s >= num_sources || (i > 0 && s < sources[i - 1])) {
      throw ConfigError("partition by_source: samples of " + dataset_name +
                        " are not grouped by source in order");
    }
    if (count[s]++ == 0) begin[s] = i;
  }
  for (size_t s = 0; s < num_sources; ++s) {
    if (count[s] == 0) {
      throw ConfigError("partition by_source: source " + std::to_string(s) + " of " + dataset_name +
                        " has no training sequence");
    }
  }
  Partition partition;
  partition.spec = spec;
  partition.spec.scheme = PartitionScheme::kBySource;
  partition.dataset = dataset_name;
  partition.num_samples = n;
  partition.noise_std.assign(clients, 0.0f);
  partition.clients.resize(clients);
  auto append = [&](size_t client, size_t from, size_t size) {
    std::vector<uint32_t>& list = partition.clients[client];
    for (size_t i = from; i < from + size; ++i)
      list.push_back(static_cast<uint32_t>(i));
  };
  if (clients <= num_sources) {
    for (size_t c = 0; c < clients; ++c) {
      const size_t first = c * num_sources / clients, last = (c + 1) * num_sources / clients;
      for (size_t s = first; s < last; ++s)
        append(c, begin[s], count[s]);
    }
    return partition;
  }
  std::vector<size_t> shares(num_sources, 1);
  for (size_t extra = num_sources; extra < clients; ++extra) {
    size_t best = 0;
    for (size_t s = 1; s < num_sources; ++s) {
      // count[s] / shares[s] > count[best] / shares[best], exactly.
      if (count[s] * shares[best] > count[best] * shares[s]) best = s;
    }
    ++shares[best];
  }
  size_t client = 0;
  for (size_t s = 0; s < num_sources; ++s) {
    const size_t k = shares[s], base = count[s] / k, longer = count[s] % k;
    size_t from = begin[s];
    for (size_t j = 0; j < k; ++j) {
      const size_t size = base + (j < longer ? 1 : 0);
      if (size == 0) {
        throw ConfigError("partition by_source: source " + std::to_string(s) + " of " +
                          dataset_name + " has " + std::to_string(count[s]) +
                          " training sequences, fewer than its " + std::to_string(k) + " clients");
      }
      append(client++, from, size);
      from += size;
    }
  }
  return partition;
}

}  // namespace edgefl::datasets
