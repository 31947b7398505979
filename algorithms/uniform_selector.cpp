#include "algorithms/uniform_selector.h"

#include <algorithm>
#include <numeric>

namespace edgefl::algorithms {

std::vector<size_t> UniformSelector::Select(int64_t /*round*/,
                                            std::span<const ClientInfo> candidates, size_t k,
                                            Rng& rng) {
  const size_t n = candidates.size();
  const size_t m = std::min(k, n);
  std::vector<size_t> indices(n);
  std::iota(indices.begin(), indices.end(), size_t{0});
  for (size_t i = 0; i < m; ++i) {
    const size_t j = i + static_cast<size_t>(rng.UniformInt(n - i));
    std::swap(indices[i], indices[j]);
  }
  indices.resize(m);
  return indices;
}

}  // namespace edgefl::algorithms
