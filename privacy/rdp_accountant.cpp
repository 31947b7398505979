#include "privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b) without overflow.
double LogAdd(double a, double b) {
  const double lo = std::min(a, b);
  const double hi = std::max(a, b);
  if (lo == -kInf) return hi;
  return std::log1p(std::exp(lo - hi)) + hi;
}

// log of the (generalised) binomial coefficient |C(n, k)|.
double LogComb(double n, double k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

// log(erfc(x)), accurate where erfc underflows (x large): the asymptotic
// series erfc(x) = e^{−x²}/(x√π)·(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + ...).
double LogErfc(double x) {
  if (x < 20.0) return std::log(std::erfc(x));
  const double inv2 = 1.0 / (x * x);
  const double series = 1.0 - 0.5 * inv2 + 0.75 * inv2 * inv2 - 1.875 * inv2 * inv2 * inv2;
  return -x * x - std::log(x) - 0.5 * std::log(std::numbers::pi) + std::log(series);
}

// log A_α for integer α: Σ_{i=0}^{α} C(α,i) q^i (1−q)^{α−i} e^{(i²−i)/(2σ²)}.
double LogAInteger(double q, double sigma, int64_t alpha) {
  double log_a = -kInf;
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  for (int64_t i = 0; i <= alpha; ++i) {
    const auto di = static_cast<double>(i);
    const double term = LogComb(static_cast<double>(alpha), di) + di * log_q +
                        static_cast<double>(alpha - i) * log_1mq +
                        (di * di - di) / (2.0 * sigma * sigma);
    log_a = LogAdd(log_a, term);
  }
  return log_a;
}

// log A_α for fractional α: the integral split at z0 = σ²·log(1/q − 1) + 1/2
// into two series (Mironov et al. 2019, §3.3), summed until both terms are
// decreasing and 30 nats below the total; +∞ (order unusable) if that takes
// more than 1000 terms.
double LogAFractional(double q, double sigma, double alpha) {
  double log_a0 = -kInf;
  double log_a1 = -kInf;
  const double z0 = sigma * sigma * std::log(1.0 / q - 1.0) + 0.5;
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  double last_s0 = -kInf;
  double last_s1 = -kInf;
  for (int i = 0; i < 1000; ++i) {
    const auto di = static_cast<double>(i);
    const double log_coef = LogComb(alpha, di);
    const double j = alpha - di;
    const double log_t0 = log_coef + di * log_q + j * log_1mq;
    const double log_t1 = log_coef + j * log_q + di * log_1mq;
    const double log_e0 = std::log(0.5) + LogErfc((di - z0) / (std::numbers::sqrt2 * sigma));
    const double log_e1 = std::log(0.5) + LogErfc((z0 - j) / (std::numbers::sqrt2 * sigma));
    const double log_s0 = log_t0 + (di * di - di) / (2.0 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2.0 * sigma * sigma) + log_e1;
    log_a0 = LogAdd(log_a0, log_s0);
    log_a1 = LogAdd(log_a1, log_s1);
    const double total = LogAdd(log_a0, log_a1);
    if (log_s0 < last_s0 && log_s1 < last_s1 && std::max(log_s0, log_s1) < total - 30.0) {
      return total;
    }
    last_s0 = log_s0;
    last_s1 = log_s1;
  }
  return kInf;
}

void CheckMechanism(double q, double z) {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw ConfigError("privacy: the sampling probability q must be in [0, 1], got " +
                      std::to_string(q));
  }
  if (!(z >= 0.0) || std::isinf(z)) {
    throw ConfigError("privacy: the noise multiplier must be finite and >= 0, got " +
                      std::to_string(z));
  }
}

void CheckOrder(double order) {
  if (!(order > 1.0)) {
    throw ConfigError("privacy: an RDP order must be > 1, got " + std::to_string(order));
  }
}

}  // namespace

std::vector<double> DefaultRdpOrders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x)
    orders.push_back(1.0 + x / 10.0);
  for (int a = 11; a < 64; ++a)
    orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0})
    orders.push_back(a);
  return orders;
}

double SubsampledGaussianRdp(double q, double noise_multiplier, double order) {
  CheckMechanism(q, noise_multiplier);
  CheckOrder(order);
  if (q == 0.0) return 0.0;
  if (std::isinf(order) || noise_multiplier == 0.0) return kInf;
  if (q == 1.0) return order / (2.0 * noise_multiplier * noise_multiplier);
  const double log_a = order == std::floor(order)
                           ? LogAInteger(q, noise_multiplier, static_cast<int64_t>(order))
                           : LogAFractional(q, noise_multiplier, order);
  return log_a / (order - 1.0);
}

PrivacySpent EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                            double delta) {
  if (!(delta > 0.0 && delta < 1.0)) {
    throw ConfigError("privacy: delta must be in (0, 1), got " + std::to_string(delta));
  }
  if (orders.size() != rdp.size() || orders.empty()) {
    throw ConfigError("privacy: " + std::to_string(orders.size()) + " orders but " +
                      std::to_string(rdp.size()) + " RDP values");
  }
  PrivacySpent best{kInf, orders[0]};
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    const double r = rdp[k];
    if (!(a >= 1.0)) {
      throw ConfigError("privacy: an RDP order must be >= 1, got " + std::to_string(a));
    }
    if (!(r >= 0.0)) {
      throw ConfigError("privacy: an RDP value must be >= 0, got " + std::to_string(r));
    }
    double epsilon = kInf;
    if (delta * delta + std::expm1(-r) > 0.0) {
      epsilon = 0.0;  // δ ≥ sqrt(1 − e^{−KL}): nothing to pay
    } else if (a > 1.01) {
      // Not numerically stable as α → 1, where it is useless anyway.
      epsilon = r + std::log1p(-1.0 / a) - std::log(delta * a) / (a - 1.0);
    }
    if (epsilon < best.epsilon) best = {epsilon, a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

RdpAccountant::RdpAccountant(double sampling_probability, double noise_multiplier,
                             std::vector<double> orders)
    : q_(sampling_probability), z_(noise_multiplier), orders_(std::move(orders)) {
  CheckMechanism(q_, z_);
  if (orders_.empty()) throw ConfigError("privacy: the accountant needs at least one RDP order");
  rdp_per_step_.reserve(orders_.size());
  for (double order : orders_)
    rdp_per_step_.push_back(SubsampledGaussianRdp(q_, z_, order));
}

void RdpAccountant::Compose(int64_t count) {
  if (count < 0) {
    throw ConfigError("privacy: cannot compose a negative number of steps (" +
                      std::to_string(count) + ")");
  }
  steps_ += count;
}

PrivacySpent RdpAccountant::SpentAfter(int64_t steps, double delta) const {
  if (steps < 0) throw ConfigError("privacy: steps must be >= 0, got " + std::to_string(steps));
  std::vector<double> rdp(rdp_per_step_.size());
  for (size_t k = 0; k < rdp.size(); ++k) {
    // 0·∞ (no step of a mechanism without noise) is no privacy loss yet.
    rdp[k] = steps == 0 ? 0.0 : rdp_per_step_[k] * static_cast<double>(steps);
  }
  return EpsilonFromRdp(orders_, rdp, delta);
}

double NoiseMultiplierFor(double sampling_probability, int64_t steps, double target_epsilon,
                          double delta, std::vector<double> orders) {
  if (!(sampling_probability > 0.0 && sampling_probability <= 1.0)) {
    throw ConfigError("noise calibration: the sampling rate must be in (0, 1], got " +
                      ShortNumber(sampling_probability));
  }
  if (steps < 1) {
    throw ConfigError("noise calibration: needs at least one step, got " + std::to_string(steps));
  }
  if (!(target_epsilon > 0.0) || std::isinf(target_epsilon)) {
    throw ConfigError("noise calibration: the target epsilon must be finite and > 0, got " +
                      ShortNumber(target_epsilon));
  }
  auto epsilon = [&](double z) {
    return RdpAccountant(sampling_probability, z, orders).SpentAfter(steps, delta).epsilon;
  };
  constexpr double kMaxMultiplier = 1e4;
  if (epsilon(kMaxMultiplier) > target_epsilon) {
    throw ConfigError("noise calibration: epsilon " + ShortNumber(target_epsilon) + " over " +
                      std::to_string(steps) +
                      " steps needs a noise multiplier above 10^4; raise the target or sample "
                      "fewer clients per round");
  }
  double low = 0.0;  // ε(low) > target (z = 0: no privacy)
  double high = 1.0;
  while (epsilon(high) > target_epsilon) {
    low = high;
    high *= 2.0;
  }
  while (high - low > 1e-6 * high) {
    const double mid = 0.5 * (low + high);
    (epsilon(mid) > target_epsilon ? low : high) = mid;
  }
  return high;
}

}  // namespace edgefl::privacy
