// Internal to datasets/: one function per partition scheme, called by
// MakePartition (partition.cpp) after it has validated the spec and labels.
//
// Each function returns the sample indices of every client (spec.num_clients
// lists). Together the lists hold every index in [0, n) exactly once and
// every list is non-empty; the order inside a list is unspecified
// (MakePartition sorts them). Each scheme draws only from its own streams,
// Rng::Derive(spec.seed, {k...Stream, ...}), so the schemes never share
// random numbers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "datasets/partition.h"

namespace edgefl::datasets::internal {

using ClientIndices = std::vector<std::vector<uint32_t>>;

// Stream names for Rng::Derive(spec.seed, {stream, ...}).
inline constexpr uint64_t kIidStream = 0x5041525449494431ULL;               // "PARTIID1"
inline constexpr uint64_t kDirichletShuffleStream = 0x5041525444495231ULL;  // "PARTDIR1"
inline constexpr uint64_t kDirichletDrawStream = 0x5041525444495232ULL;     // "PARTDIR2"
inline constexpr uint64_t kShardStream = 0x5041525453484431ULL;             // "PARTSHD1"
inline constexpr uint64_t kQuantitySizeStream = 0x5041525451545931ULL;      // "PARTQTY1"
inline constexpr uint64_t kQuantityShuffleStream = 0x5041525451545932ULL;   // "PARTQTY2"

// Uniform random split of [0, n) into spec.num_clients lists whose sizes
// differ by at most one (the first n % N clients get one more).
// REQUIRES: 0 < spec.num_clients <= n.
ClientIndices IidPartition(size_t n, const PartitionSpec& spec);

// Label skew (Hsu et al. 2019; NIID-Bench): for each class, the client shares
// are drawn from Dir(spec.alpha) and the class's shuffled indices are cut at
// the cumulative shares. The whole draw is repeated until every client has
// at least max(1, spec.min_client_size) samples; throws ConfigError after
// kMaxDirichletAttempts failed draws.
// REQUIRES: spec.alpha > 0, labels in [0, num_classes), n >= num_clients.
inline constexpr int kMaxDirichletAttempts = 1000;
ClientIndices DirichletPartition(std::span<const int32_t> labels, int num_classes,
                                 const PartitionSpec& spec);

// Pathological non-IID split of McMahan et al. 2017: indices sorted by label
// (random order within a label), cut into num_clients * classes_per_client
// contiguous shards of equal size (+-1), each client receives
// classes_per_client shards chosen at random.
// REQUIRES: labels in [0, num_classes), num_clients * classes_per_client <= n.
ClientIndices ShardPartition(std::span<const int32_t> labels, int num_classes,
                             const PartitionSpec& spec);

// Quantity skew (NIID-Bench): shuffled indices (so labels stay IID), client
// sizes max(1, spec.min_client_size) + Dir(spec.alpha) shares of the rest,
// summing exactly to n.
// REQUIRES: spec.alpha > 0, num_clients * max(1, min_client_size) <= n.
ClientIndices QuantitySkewPartition(size_t n, const PartitionSpec& spec);

// Feature-distribution skew (NIID-Bench "noise-based"): the same split as
// IidPartition with the same seed; the skew comes from FeatureNoiseStd.
ClientIndices FeatureNoisePartition(size_t n, const PartitionSpec& spec);

// Per-client noise std-dev: noise * i / (N - 1) for client i (0 if N == 1).
std::vector<float> FeatureNoiseStd(size_t num_clients, double noise);

// Splits `total` items into shares proportional to `p` (which sums to ~1):
// counts[j] = floor(P_j * total) - floor(P_{j-1} * total) for the cumulative
// sums P_j, with the last cut forced to `total`, so the counts sum exactly to
// `total` whatever the rounding.
inline std::vector<size_t> ProportionalCounts(std::span<const double> p, size_t total) {
  std::vector<size_t> counts(p.size(), 0);
  double cumulative = 0.0;
  size_t previous_cut = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    cumulative += p[j];
    size_t cut = total;
    if (j + 1 < p.size()) {
      const double x = cumulative * static_cast<double>(total);
      cut = x <= 0.0 ? 0 : std::min(total, static_cast<size_t>(x));
      cut = std::max(cut, previous_cut);
    }
    counts[j] = cut - previous_cut;
    previous_cut = cut;
  }
  return counts;
}

}  // namespace edgefl::datasets::internal
