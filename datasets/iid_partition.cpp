#include <numeric>

#include "common/random.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets::internal {

ClientIndices IidPartition(size_t n, const PartitionSpec& spec) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), uint32_t{0});
  Rng rng = Rng::Derive(spec.seed, {kIidStream});
  rng.Shuffle(order);

  const size_t num_clients = spec.num_clients;
  ClientIndices clients(num_clients);
  const size_t base = n / num_clients;
  const size_t extra = n % num_clients;
  size_t begin = 0;
  for (size_t c = 0; c < num_clients; ++c) {
    const size_t size = base + (c < extra ? 1 : 0);
    clients[c].assign(order.begin() + static_cast<std::ptrdiff_t>(begin),
                      order.begin() + static_cast<std::ptrdiff_t>(begin + size));
    begin += size;
  }
  return clients;
}

}  // namespace edgefl::datasets::internal
