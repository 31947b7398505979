#include <algorithm>
#include <numeric>

#include "common/random.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets::internal {

ClientIndices QuantitySkewPartition(size_t n, const PartitionSpec& spec) {
  const size_t num_clients = spec.num_clients;
  const size_t min_size = std::max<size_t>(1, spec.min_client_size);

  // Every client first gets min_size samples; the rest is shared by Dir(alpha).
  // This meets the minimum in one draw, where NIID-Bench redraws.
  Rng size_rng = Rng::Derive(spec.seed, {kQuantitySizeStream});
  const std::vector<double> shares = SampleDirichlet(size_rng, spec.alpha, num_clients);
  std::vector<size_t> sizes = ProportionalCounts(shares, n - num_clients * min_size);
  for (size_t& size : sizes)
    size += min_size;

  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), uint32_t{0});
  Rng shuffle_rng = Rng::Derive(spec.seed, {kQuantityShuffleStream});
  shuffle_rng.Shuffle(order);

  ClientIndices clients(num_clients);
  auto next = order.begin();
  for (size_t c = 0; c < num_clients; ++c) {
    const auto end = next + static_cast<std::ptrdiff_t>(sizes[c]);
    clients[c].assign(next, end);
    next = end;
  }
  return clients;
}

}  // namespace edgefl::datasets::internal
