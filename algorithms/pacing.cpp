#include "algorithms/pacing.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace edgefl::algorithms {

PacingKind ParsePacing(const std::string& name, const std::string& key) {
  if (name == "linear") return PacingKind::kLinear;
  if (name == "quad") return PacingKind::kQuad;
  if (name == "root" || name == "sqrt") return PacingKind::kRoot;
  if (name == "step") return PacingKind::kStep;
  if (name == "exp") return PacingKind::kExp;
  if (name == "log") return PacingKind::kLog;
  throw ConfigError(key + ": unknown pacing function \"" + name +
                    "\" (accepted: linear, quad, root, step, exp, log)");
}

std::string PacingName(PacingKind kind) {
  switch (kind) {
    case PacingKind::kLinear:
      return "linear";
    case PacingKind::kQuad:
      return "quad";
    case PacingKind::kRoot:
      return "root";
    case PacingKind::kStep:
      return "step";
    case PacingKind::kExp:
      return "exp";
    case PacingKind::kLog:
      return "log";
  }
  return "?";
}

PacingKind PacingFromValue(double value, const std::string& key) {
  if (value >= 0.0 && value <= 5.0 && value == std::floor(value)) {
    return static_cast<PacingKind>(static_cast<int>(value));
  }
  throw ConfigError(key + ": " + std::to_string(value) +
                    " is not a pacing function (0 linear, 1 quad, 2 root, 3 step, 4 exp, 5 log)");
}

void Pacing::Validate(const std::string& prefix) const {
  if (!(std::isfinite(a) && a > 0.0)) {
    throw ConfigError(prefix + "a must be > 0, got " + std::to_string(a));
  }
  if (!(b >= 0.0 && b <= 1.0)) {
    throw ConfigError(prefix + "b must be in [0, 1], got " + std::to_string(b));
  }
  if (!(std::isfinite(c) && c > 0.0)) {
    throw ConfigError(prefix + "c must be > 0, got " + std::to_string(c));
  }
}

double Pacing::Raw(double t, double total, size_t n) const {
  const double big_n = static_cast<double>(n);
  const double start = b * big_n;
  const double x = t / (a * total);  // progress; 1 at t = aT
  switch (kind) {
    case PacingKind::kLinear:
      return start + (big_n - start) * x;
    case PacingKind::kQuad:
      return start + (big_n - start) * x * x;
    case PacingKind::kRoot:
      return start + (big_n - start) * std::sqrt(x);
    case PacingKind::kStep:
      return start + big_n * std::floor(x);
    case PacingKind::kExp:
      return start + (big_n - start) * std::expm1(c * x) / std::expm1(c);
    case PacingKind::kLog:
      return start + (big_n - start) * (1.0 + std::log(x + std::exp(-c)) / c);
  }
  return big_n;
}

size_t Pacing::Size(int64_t t, int64_t total, size_t n) const {
  if (n == 0) return 0;
  const double raw = Raw(static_cast<double>(std::max<int64_t>(t, 0)),
                         static_cast<double>(std::max<int64_t>(total, 1)), n);
  const double clipped = std::clamp(std::floor(raw), 1.0, static_cast<double>(n));
  return static_cast<size_t>(clipped);
}

}  // namespace edgefl::algorithms
