// Uniform client sampling without replacement (McMahan et al. 2017): each
// round, min(k, n) of the n candidates, every subset equally likely.
#pragma once

#include "algorithms/client_selector.h"

namespace edgefl::algorithms {

class UniformSelector final : public ClientSelector {
 public:
  std::string name() const override { return "uniform"; }
  // Indices in draw order (a partial Fisher-Yates shuffle driven by `rng`).
  std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates, size_t k,
                             Rng& rng) override;
};

}  // namespace edgefl::algorithms
