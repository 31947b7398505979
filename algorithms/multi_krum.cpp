#include "algorithms/multi_krum.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {

MultiKrumOutcome MultiKrum(std::span<const ParameterSpan> vectors, size_t byzantine, size_t keep) {
  const size_t n = vectors.size();
  if (n == 0) throw ConfigError("multi_krum: no vectors to aggregate");
  if (n < 2 * byzantine + 3) {
    throw ConfigError("multi_krum: " + std::to_string(n) + " inputs cannot tolerate " +
                      std::to_string(byzantine) + " Byzantine ones (Krum needs n >= 2f + 3, here " +
                      std::to_string(2 * byzantine + 3) + ")");
  }
  if (keep < 1 || keep > n) {
    throw ConfigError("multi_krum: keep must be in [1, " + std::to_string(n) + "], got " +
                      std::to_string(keep));
  }

  const std::vector<double> d2 = PairwiseSquaredDistances(vectors);

  MultiKrumOutcome outcome;
  outcome.scores.resize(n);
  const size_t neighbours = n - byzantine - 2;
  std::vector<double> row;
  for (size_t i = 0; i < n; ++i) {
    row.clear();
    for (size_t j = 0; j < n; ++j) {
      if (j != i) row.push_back(d2[i * n + j]);
    }
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(neighbours),
                      row.end());
    outcome.scores[i] =
        std::accumulate(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(neighbours), 0.0);
  }

  outcome.order.resize(n);
  std::iota(outcome.order.begin(), outcome.order.end(), size_t{0});
  std::stable_sort(outcome.order.begin(), outcome.order.end(),
                   [&](size_t a, size_t b) { return outcome.scores[a] < outcome.scores[b]; });
  outcome.selected.assign(outcome.order.begin(),
                          outcome.order.begin() + static_cast<std::ptrdiff_t>(keep));

  std::vector<ParameterSpan> chosen;
  chosen.reserve(keep);
  for (size_t i : outcome.selected)
    chosen.push_back(vectors[i]);
  const std::vector<double> equal(keep, 1.0);
  outcome.mean = WeightedMean(chosen, equal);
  return outcome;
}

}  // namespace edgefl::algorithms
