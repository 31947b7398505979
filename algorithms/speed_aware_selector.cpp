#include "algorithms/speed_aware_selector.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace edgefl::algorithms {

SpeedAwareSelector::SpeedAwareSelector(SpeedAwareOptions options) : options_(std::move(options)) {
  if (!(options_.overcommit >= 1.0 && std::isfinite(options_.overcommit))) {
    throw ConfigError("selector speed_aware: overcommit must be >= 1, got " +
                      std::to_string(options_.overcommit));
  }
  if (!(options_.fairness >= 0.0 && options_.fairness <= 1.0)) {
    throw ConfigError("selector speed_aware: fairness must be in [0, 1], got " +
                      std::to_string(options_.fairness));
  }
  if (!(options_.target >= 0.0)) {
    throw ConfigError("selector speed_aware: target must be >= 0 seconds (0 = median)");
  }
}

double SpeedAwareSelector::ExpectedSeconds(const ClientInfo& client) const {
  if (!(client.samples_per_second > 0.0)) return 0.0;
  return static_cast<double>(train::PlannedSamples(options_.recipe, client.num_samples)) /
         client.samples_per_second;
}

std::vector<size_t> SpeedAwareSelector::Select(int64_t /*round*/,
                                               std::span<const ClientInfo> candidates, size_t k,
                                               Rng& rng) {
  const size_t n = candidates.size();
  const size_t m =
      std::min(n, static_cast<size_t>(std::ceil(options_.overcommit * static_cast<double>(k))));
  if (m == 0) return {};
  std::vector<double> expected(n);
  for (size_t i = 0; i < n; ++i)
    expected[i] = ExpectedSeconds(candidates[i]);
  double target = options_.target;
  if (target <= 0.0) {
    std::vector<double> sorted = expected;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n / 2),
                     sorted.end());
    target = sorted[n / 2];
  }
  std::vector<size_t> on_time, late;
  for (size_t i = 0; i < n; ++i)
    (expected[i] <= target ? on_time : late).push_back(i);
  rng.Shuffle(on_time);
  rng.Shuffle(late);

  std::vector<size_t> picked;
  // The fairness floor: late clients that have taken part least.
  const size_t floor = std::min(
      late.size(), static_cast<size_t>(std::lround(options_.fairness * static_cast<double>(m))));
  std::stable_sort(late.begin(), late.end(), [&](size_t a, size_t b) {
    return candidates[a].rounds_participated < candidates[b].rounds_participated;
  });
  picked.insert(picked.end(), late.begin(), late.begin() + static_cast<std::ptrdiff_t>(floor));
  late.erase(late.begin(), late.begin() + static_cast<std::ptrdiff_t>(floor));
  // Then on-time clients at random, topped up with the fastest late ones.
  for (size_t i : on_time) {
    if (picked.size() == m) break;
    picked.push_back(i);
  }
  std::stable_sort(late.begin(), late.end(),
                   [&](size_t a, size_t b) { return expected[a] < expected[b]; });
  for (size_t i : late) {
    if (picked.size() == m) break;
    picked.push_back(i);
  }
  return picked;
}

}  // namespace edgefl::algorithms
