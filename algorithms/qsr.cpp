#include "algorithms/qsr.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

constexpr double kRelativeTolerance = 1e-6;

}  // namespace

void QsrOptions::Validate() const {
  if (base_steps < 1) {
    throw ConfigError("qsr: qsr_h_base must be >= 1, got " + std::to_string(base_steps));
  }
  if (!(std::isfinite(alpha) && alpha >= 0.0)) {
    throw ConfigError("qsr: qsr_alpha must be >= 0, got " + std::to_string(alpha));
  }
  if (!(std::isfinite(gamma) && gamma > 0.0)) {
    throw ConfigError("qsr: qsr_gamma must be > 0, got " + std::to_string(gamma));
  }
  if (total_steps < 0) {
    throw ConfigError("qsr: qsr_total_steps must be >= 0 (0 = unlimited), got " +
                      std::to_string(total_steps));
  }
  if (max_steps < 0 || (max_steps > 0 && max_steps < base_steps)) {
    throw ConfigError("qsr: qsr_max_steps must be 0 (none) or >= qsr_h_base, got " +
                      std::to_string(max_steps));
  }
}

int64_t QsrLocalSteps(const QsrOptions& options, double lr, int64_t steps_left, bool in_warmup) {
  if (steps_left == 0) return 0;
  int64_t h = options.base_steps;
  if (!in_warmup && options.alpha > 0.0 && std::isfinite(lr) && lr > 0.0) {
    // Largest H representable without overflow; the caps below apply anyway.
    const double cap = options.max_steps > 0 ? static_cast<double>(options.max_steps) : 1e15;
    // A relative tolerance of 1e-6 before the floor, so that a learning rate
    // held as a float (0.05f) still gives the exact H: ⌊(0.2/0.05)²⌋ = 16.
    const double raw = std::pow(options.alpha / lr, options.gamma);
    const double quadratic = std::min(std::floor(raw * (1.0 + kRelativeTolerance)), cap);
    h = std::max(h, static_cast<int64_t>(quadratic));
  }
  if (options.max_steps > 0) h = std::min(h, options.max_steps);
  if (steps_left > 0) h = std::min(h, steps_left);
  return std::max<int64_t>(h, 1);
}

}  // namespace edgefl::algorithms
