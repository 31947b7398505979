#include "datasets/population_share.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "common/error.h"
#include "common/number_text.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets {

ClassPools::ClassPools(std::span<const int32_t> labels, int num_classes)
    : by_class_(static_cast<size_t>(std::max(num_classes, 0))), num_rows_(labels.size()) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const int32_t y = labels[i];
    if (y < 0 || y >= num_classes) {
      throw DataError("label " + std::to_string(y) + " of row " + std::to_string(i) +
                      " is outside [0, " + std::to_string(num_classes) + ")");
    }
    by_class_[static_cast<size_t>(y)].push_back(static_cast<uint32_t>(i));
  }
}

size_t ClassPools::held_bytes() const {
  size_t bytes = by_class_.capacity() * sizeof(std::vector<uint32_t>);
  for (const auto& rows : by_class_)
    bytes += rows.capacity() * sizeof(uint32_t);
  return bytes;
}

std::vector<uint64_t> DistinctSample(Rng& rng, uint64_t n, size_t k) {
  if (k > n) throw Error("DistinctSample: k > n");
  std::unordered_set<uint64_t> chosen;
  chosen.reserve(k);
  std::vector<uint64_t> out;
  out.reserve(k);
  for (uint64_t j = n - k; j < n; ++j) {
    const uint64_t t = rng.UniformInt(j + 1);
    const uint64_t pick = chosen.count(t) ? j : t;
    chosen.insert(pick);
    out.push_back(pick);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> DrawShareRows(const ClassPools& pools, const ShareLaw& law, uint64_t client) {
  if (law.mean_size == 0) throw ConfigError("share_size must be > 0");
  if (!(law.size_alpha >= 0.0) || !std::isfinite(law.size_alpha)) {
    throw ConfigError("share_size_alpha must be >= 0, got " + ShortNumber(law.size_alpha));
  }
  if (law.label_skew && !(law.alpha > 0.0)) {
    throw ConfigError("alpha must be > 0 for a dirichlet share, got " + ShortNumber(law.alpha));
  }
  if (pools.num_rows() == 0) throw ConfigError("a population share needs a non-empty pool");
  Rng rng = Rng::Derive(law.seed, {kPopulationShareStream, client});

  // 1. The size.
  size_t n = law.mean_size;
  if (law.size_alpha > 0.0) {
    const double draw =
        static_cast<double>(law.mean_size) * rng.Gamma(law.size_alpha) / law.size_alpha;
    n = draw >= static_cast<double>(pools.num_rows())
            ? pools.num_rows()
            : std::max<size_t>(1, static_cast<size_t>(std::llround(draw)));
  }
  n = std::min(n, pools.num_rows());

  if (!law.label_skew) {
    std::vector<uint32_t> rows;
    rows.reserve(n);
    for (uint64_t r : DistinctSample(rng, pools.num_rows(), n))
      rows.push_back(static_cast<uint32_t>(r));
    return rows;  // ascending: DistinctSample sorts
  }

  // 2. The class mix over the non-empty classes.
  std::vector<size_t> classes;
  for (size_t c = 0; c < pools.by_class().size(); ++c) {
    if (!pools.by_class()[c].empty()) classes.push_back(c);
  }
  const std::vector<double> p = SampleDirichlet(rng, law.alpha, classes.size());
  const std::vector<size_t> counts = internal::ProportionalCounts(p, n);

  // 3. Distinct rows of each class.
  std::vector<uint32_t> rows;
  rows.reserve(n);
  for (size_t j = 0; j < classes.size(); ++j) {
    const std::vector<uint32_t>& pool = pools.by_class()[classes[j]];
    const size_t take = std::min(counts[j], pool.size());
    for (uint64_t r : DistinctSample(rng, pool.size(), take))
      rows.push_back(pool[static_cast<size_t>(r)]);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace edgefl::datasets
