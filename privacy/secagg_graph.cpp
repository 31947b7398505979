#include "privacy/secagg_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::privacy {
namespace {

double LogChoose(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

double LogSumExp(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// log P[Bin(k, p) < t].
double LogBinomialBelow(uint32_t k, double p, uint32_t t) {
  double total = -INFINITY;
  for (uint32_t i = 0; i < t && i <= k; ++i) {
    double term = LogChoose(k, i);
    term += i == 0 ? 0.0 : (p == 0 ? -INFINITY : i * std::log(p));
    term += (k - i) == 0 ? 0.0 : (p == 1 ? -INFINITY : (k - i) * std::log1p(-p));
    total = LogSumExp(total, term);
  }
  return total;
}

// log P[X ≥ t], X ~ Hypergeometric(population N, successes K, draws k).
double LogHypergeometricAtLeast(uint32_t N, uint32_t K, uint32_t k, uint32_t t) {
  double total = -INFINITY;
  const double denominator = LogChoose(N, k);
  for (uint32_t i = t; i <= std::min(K, k); ++i) {
    if (k - i > N - K) continue;
    total = LogSumExp(total, LogChoose(K, i) + LogChoose(N - K, k - i) - denominator);
  }
  return total;
}

constexpr double kLn2 = 0.69314718055994530942;

}  // namespace

SecAggGraph::SecAggGraph(uint32_t n, uint32_t k, uint64_t seed) : n_(n), k_(std::min(k, n - 1)) {
  if (n < 2) throw Error("secagg graph: needs at least 2 clients, got " + std::to_string(n));
  if (k_ < 1 || (k_ < n - 1 && k_ % 2 != 0)) {
    throw Error("secagg graph: degree " + std::to_string(k) +
                " must be even (Harary graph) or at least n − 1 (complete graph)");
  }
  neighbours_.resize(n);
  if (complete()) {
    for (uint32_t u = 0; u < n; ++u) {
      for (uint32_t v = 0; v < n; ++v) {
        if (v != u) neighbours_[u].push_back(v);
      }
    }
    return;
  }
  std::vector<uint32_t> at(n);  // at[position] = client
  std::iota(at.begin(), at.end(), 0u);
  Rng rng(seed);
  rng.Shuffle(at);
  for (uint32_t position = 0; position < n; ++position) {
    const uint32_t u = at[position];
    for (uint32_t j = 1; j <= k_ / 2; ++j) {
      neighbours_[u].push_back(at[(position + j) % n]);
      neighbours_[u].push_back(at[(position + n - j) % n]);
    }
    std::sort(neighbours_[u].begin(), neighbours_[u].end());
  }
}

bool SecAggGraph::Adjacent(uint32_t u, uint32_t v) const {
  const auto& list = neighbours_.at(u);
  return std::binary_search(list.begin(), list.end(), v);
}

SecAggParams ChooseSecAggParams(const SecAggParamRequest& r) {
  if (r.n < 2) throw Error("secagg parameters: needs at least 2 clients");
  if (!(r.dropout_rate >= 0 && r.dropout_rate < 1) ||
      !(r.corrupt_fraction >= 0 && r.corrupt_fraction < 1)) {
    throw Error("secagg parameters: the drop-out rate and corrupt fraction must be in [0, 1)");
  }
  const double log_n = std::log(static_cast<double>(r.n));
  const double log_sec_target = -r.security_bits * kLn2;
  const double log_fail_target = -r.failure_bits * kLn2;
  const uint32_t corrupt = std::min<uint32_t>(
      r.n - 1, static_cast<uint32_t>(std::ceil(r.corrupt_fraction * r.n - 1e-9)));
  const double q = r.corrupt_fraction + r.dropout_rate - r.corrupt_fraction * r.dropout_rate;

  auto security = [&](uint32_t k, uint32_t t, bool complete) {
    double corrupt_term = log_n + LogHypergeometricAtLeast(r.n - 1, corrupt, k, t);
    double split_term = complete || q == 0 ? -INFINITY : 2 * log_n - kLn2 + k * std::log(q);
    return LogSumExp(corrupt_term, split_term);
  };
  auto failure = [&](uint32_t k, uint32_t t) {
    return log_n + LogBinomialBelow(k, 1 - r.dropout_rate, t);
  };
  auto result = [&](uint32_t k, uint32_t t, bool complete) {
    SecAggParams p;
    p.k = k;
    p.t = t;
    const double s = security(k, t, complete);
    const double f = failure(k, t);
    p.log2_security_failure = s / kLn2;
    p.log2_correctness_failure = f / kLn2;
    p.meets_targets = s <= log_sec_target && f <= log_fail_target;
    return p;
  };

  for (uint32_t k = 2; k < r.n - 1; k += 2) {
    for (uint32_t t = k / 2 + 1; t <= k; ++t) {
      if (security(k, t, false) > log_sec_target) continue;
      // The smallest secure t for this k; a larger t only fails more often.
      if (failure(k, t) <= log_fail_target) return result(k, t, false);
      break;
    }
  }
  const uint32_t k = r.n - 1;
  uint32_t t = k / 2 + 1;
  while (t < k && security(k, t, true) > log_sec_target)
    ++t;
  if (security(k, t, true) > log_sec_target) t = k / 2 + 1;
  return result(k, t, true);
}

}  // namespace edgefl::privacy
