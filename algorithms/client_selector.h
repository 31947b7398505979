// Chooses the cohort of a synchronous round from the available clients.
// Deterministic given the Rng. Thread-safety: used by one engine at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "algorithms/client_info.h"
#include "common/random.h"

namespace edgefl::algorithms {

class ClientSelector {
 public:
  virtual ~ClientSelector() = default;
  virtual std::string name() const = 0;

  // Indices into `candidates` of the clients to train in `round`, at most
  // `k` (fewer when fewer are available), without repetition.
  virtual std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates,
                                     size_t k, Rng& rng) = 0;

  // Whether Select needs ClientInfo::score (the engine then has every
  // candidate score its data with the global model first).
  virtual bool NeedsScores(int64_t /*round*/) const { return false; }
};

}  // namespace edgefl::algorithms
