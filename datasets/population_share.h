// A lazily drawn client's share of a shared pool of rows (population =
// "lazy", docs/algorithms.md, "Large populations"): client k's rows depend only on (seed, k) and
// the pool, never on how many clients there are or on which round asks, so
// a population of a million clients needs no per-client table.
//
// Client k draws everything from Rng::Derive(seed, {kPopulationShareStream, k}):
//   1. its size n_k: `mean_size` rows when size_alpha = 0, else
//      max(1, round(mean_size · Gamma(size_alpha, 1) / size_alpha)) — the
//      limit, as the population grows, of the eager quantity scheme's
//      marginal (Dir(α)·n over N clients gives each client Beta(α, (N−1)α)·n,
//      which tends to Gamma(α, n/(Nα)), mean n/N);
//   2. label skew (`dirichlet`): class proportions p_k ~ Dir(alpha) over
//      the pool's non-empty classes, then per-class counts by cutting
//      p_k's cumulative sums at n_k (ProportionalCounts, as the eager
//      partitions round); without it
//      (`iid`) n_k rows uniformly from the whole pool;
//   3. the rows: per class, that many distinct rows of the class, uniformly
//      (Floyd's sampling; a count above the class's size is cut to it).
// Rows are without replacement within a client but with replacement across
// clients: unlike the eager partitions (datasets/partition.h), which split
// a fixed dataset so every row belongs to exactly one client, a population
// larger than the dataset (a million clients over 60,000 rows) cannot be a
// split. The eager `dirichlet` scheme splits each class across the clients
// (Dir(α) over clients, per class); this one draws each client's class mix
// (Dir(α) over classes, per client, Hsu et al. 2019's definition): the
// same α gives a comparable but not identical skew.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "datasets/dataset.h"

namespace edgefl::datasets {

inline constexpr uint64_t kPopulationShareStream = 0x504f505348415245ULL;  // "POPSHARE"

struct ShareLaw {
  bool label_skew = false;  // true: Dir(alpha) over classes per client
  double alpha = 0.5;       // > 0 when label_skew
  size_t mean_size = 60;    // > 0
  double size_alpha = 0.0;  // 0: every client mean_size rows; > 0: the Gamma law above
  uint64_t seed = 1;
};

// The rows of each class of a pool, found once (the pool's size, not the
// population's).
class ClassPools {
 public:
  ClassPools(std::span<const int32_t> labels, int num_classes);
  const std::vector<std::vector<uint32_t>>& by_class() const { return by_class_; }
  size_t num_rows() const { return num_rows_; }
  size_t held_bytes() const;

 private:
  std::vector<std::vector<uint32_t>> by_class_;
  size_t num_rows_ = 0;
};

// Client k's rows of the pool, ascending. Throws ConfigError for a bad law
// (alpha <= 0 with label skew, mean_size 0, size_alpha < 0) or an empty pool.
std::vector<uint32_t> DrawShareRows(const ClassPools& pools, const ShareLaw& law, uint64_t client);

// k distinct integers of [0, n), uniformly (Floyd's algorithm: O(k) draws,
// no table of n), ascending. REQUIRES: k <= n.
std::vector<uint64_t> DistinctSample(Rng& rng, uint64_t n, size_t k);

}  // namespace edgefl::datasets
