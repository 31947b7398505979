#include <algorithm>
#include <sstream>

#include "common/error.h"
#include "common/random.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets::internal {

ClientIndices DirichletPartition(std::span<const int32_t> labels, int num_classes,
                                 const PartitionSpec& spec) {
  const size_t num_clients = spec.num_clients;
  const size_t min_size = std::max<size_t>(1, spec.min_client_size);

  // The indices of each class in random order. Shuffling once and redrawing
  // only the shares gives the same distribution as redrawing everything,
  // since the rejection test depends on the shares alone.
  std::vector<std::vector<uint32_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) {
    by_class[static_cast<size_t>(labels[i])].push_back(static_cast<uint32_t>(i));
  }
  for (size_t k = 0; k < by_class.size(); ++k) {
    Rng shuffle_rng = Rng::Derive(spec.seed, {kDirichletShuffleStream, k});
    shuffle_rng.Shuffle(by_class[k]);
  }

  Rng rng = Rng::Derive(spec.seed, {kDirichletDrawStream});
  std::vector<std::vector<size_t>> counts(by_class.size());  // [class][client]
  std::vector<size_t> sizes(num_clients);
  for (int attempt = 0; attempt < kMaxDirichletAttempts; ++attempt) {
    std::fill(sizes.begin(), sizes.end(), 0);
    for (size_t k = 0; k < by_class.size(); ++k) {
      const std::vector<double> shares = SampleDirichlet(rng, spec.alpha, num_clients);
      counts[k] = ProportionalCounts(shares, by_class[k].size());
      for (size_t c = 0; c < num_clients; ++c)
        sizes[c] += counts[k][c];
    }
    if (*std::min_element(sizes.begin(), sizes.end()) < min_size) continue;

    ClientIndices clients(num_clients);
    for (size_t c = 0; c < num_clients; ++c)
      clients[c].reserve(sizes[c]);
    for (size_t k = 0; k < by_class.size(); ++k) {
      auto next = by_class[k].begin();
      for (size_t c = 0; c < num_clients; ++c) {
        const auto end = next + static_cast<std::ptrdiff_t>(counts[k][c]);
        clients[c].insert(clients[c].end(), next, end);
        next = end;
      }
    }
    return clients;
  }

  std::ostringstream message;
  message << "partition: dirichlet alpha " << spec.alpha << " is too small for " << num_clients
          << " clients: " << kMaxDirichletAttempts << " draws all left a client with fewer than "
          << min_size << " of the " << labels.size()
          << " samples; increase alpha, use fewer clients or lower "
          << "min_client_size";
  throw ConfigError(message.str());
}

}  // namespace edgefl::datasets::internal
