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

// log P[X = x], X ~ Hypergeometric(population N, marked K, draws k).
double LogHypergeometric(uint32_t N, uint32_t K, uint32_t k, uint32_t x) {
  if (x > k || x > K || k - x > N - K) return -INFINITY;
  return LogChoose(K, x) + LogChoose(N - K, k - x) - LogChoose(N, k);
}

// log P[X ≥ t], X ~ Hypergeometric(N, K, k); 0 for t ≤ 0.
double LogHypergeometricAtLeast(uint32_t N, uint32_t K, uint32_t k, int64_t t) {
  if (t <= 0) return 0.0;
  double total = -INFINITY;
  for (int64_t x = t; x <= static_cast<int64_t>(std::min(K, k)); ++x)
    total = LogSumExp(total, LogHypergeometric(N, K, k, static_cast<uint32_t>(x)));
  return total;
}

// log P[X < t], X ~ Hypergeometric(N, K, k).
double LogHypergeometricBelow(uint32_t N, uint32_t K, uint32_t k, int64_t t) {
  double total = -INFINITY;
  for (int64_t x = 0; x < t && x <= static_cast<int64_t>(k); ++x)
    total = LogSumExp(total, LogHypergeometric(N, K, k, static_cast<uint32_t>(x)));
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
  const uint32_t n = r.n;
  const double log_n = std::log(static_cast<double>(n));
  // The security budget is split over two events (federated-compute's
  // kSecurityParameter + 1 per event).
  const double log_event_target = -(r.security_bits + 1) * kLn2;
  const double log_fail_target = -r.failure_bits * kLn2;
  const auto count = [&](double fraction) {
    return std::min<uint32_t>(n, static_cast<uint32_t>(std::ceil(fraction * n - 1e-9)));
  };
  const uint32_t corrupt = count(r.corrupt_fraction);
  const uint32_t dropped = count(r.dropout_rate);
  const uint32_t bad = std::min(n, corrupt + dropped);
  const uint32_t surviving = n - dropped;
  const bool semi_malicious = r.adversary == SecAggAdversary::kSemiMaliciousServer;

  // log of the bound on the honest survivors of H(n, k) falling apart.
  const auto disconnection = [&](uint32_t k) -> double {
    if (k >= n - 1 || k > bad) return -INFINITY;
    return log_n + std::log(static_cast<double>(n - k - 1)) - kLn2 + std::lgamma(bad + 1.0) +
           std::lgamma(n - k + 1.0) - std::lgamma(n + 1.0) - std::lgamma(bad - k + 1.0);
  };
  // t1: the smallest x with n·P[corrupt neighbours > x] within the event target.
  const auto corrupt_bound = [&](uint32_t k) {
    int64_t x = std::min(corrupt, k);  // P[X > min(A, k)] = 0
    double tail = -INFINITY;           // log P[X > x]
    while (x > 0) {
      const double wider = LogSumExp(tail, LogHypergeometric(n, corrupt, k, x));
      if (log_n + wider > log_event_target) break;
      tail = wider;
      --x;
    }
    if (semi_malicious) x = static_cast<int64_t>(std::ceil((x + k - 1.25) / 2));
    return x;
  };
  // t2: the largest x with n·P[surviving neighbours < x] within the target.
  const auto survivor_bound = [&](uint32_t k) {
    int64_t x = 0;
    double head = -INFINITY;  // log P[Y < x]
    while (x < static_cast<int64_t>(k)) {
      const double wider = LogSumExp(head, LogHypergeometric(n, surviving, k, x));
      if (log_n + wider > log_fail_target) break;
      head = wider;
      ++x;
    }
    return x;
  };
  const auto security = [&](uint32_t k, uint32_t t) {
    const int64_t event = semi_malicious ? 2 * static_cast<int64_t>(t) - k : t;
    return LogSumExp(disconnection(k), log_n + LogHypergeometricAtLeast(n, corrupt, k, event));
  };
  const auto result = [&](uint32_t k, uint32_t t) {
    SecAggParams p;
    p.k = k;
    p.t = t;
    const double s = security(k, t);
    const double f = log_n + LogHypergeometricBelow(n, surviving, k, t);
    p.log2_security_failure = s / kLn2;
    p.log2_correctness_failure = f / kLn2;
    p.meets_targets = s <= -r.security_bits * kLn2 && f <= log_fail_target;
    return p;
  };

  for (uint32_t k = 2; k + 1 < n; k += 2) {
    if (disconnection(k) >= log_event_target) continue;
    const int64_t t = std::max<int64_t>(corrupt_bound(k) + 1, 2);
    if (t > survivor_bound(k)) continue;
    return result(k, static_cast<uint32_t>(t));
  }
  // The complete graph (SecAgg): the smallest secure t, else a majority.
  const uint32_t k = n - 1;
  int64_t t = std::max<int64_t>(corrupt_bound(k) + 1, 2);
  if (t > k) t = k / 2 + 1;
  return result(k, static_cast<uint32_t>(std::min<int64_t>(t, k)));
}

}  // namespace edgefl::privacy
