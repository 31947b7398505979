#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/error.h"

namespace edgefl::train {

LrScheduleKind ParseLrSchedule(const std::string& name, const std::string& key) {
  if (name == "constant") return LrScheduleKind::kConstant;
  if (name == "step") return LrScheduleKind::kStep;
  if (name == "cosine") return LrScheduleKind::kCosine;
  throw ConfigError(key + ": unknown learning-rate schedule \"" + name +
                    "\" (accepted: constant, step, cosine)");
}

std::string LrScheduleName(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant:
      return "constant";
    case LrScheduleKind::kStep:
      return "step";
    case LrScheduleKind::kCosine:
      return "cosine";
  }
  return "?";
}

void LrSchedule::Validate(const std::string& unit) const {
  if (!(std::isfinite(base) && base >= 0.0)) {
    throw ConfigError("lr schedule: lr must be >= 0, got " + std::to_string(base));
  }
  if (warmup < 0) {
    throw ConfigError("lr schedule: lr_warmup_" + unit + " must be >= 0, got " +
                      std::to_string(warmup));
  }
  if (kind == LrScheduleKind::kStep) {
    if (!(decay > 0.0 && decay <= 1.0)) {
      throw ConfigError("lr schedule: lr_decay must be in (0, 1], got " + std::to_string(decay));
    }
    if (step_every <= 0) {
      throw ConfigError("lr schedule: lr_step_" + unit + " must be > 0, got " +
                        std::to_string(step_every));
    }
  }
  if (kind == LrScheduleKind::kCosine) {
    if (!(floor >= 0.0 && floor <= base)) {
      throw ConfigError("lr schedule: lr_floor must be in [0, lr=" + std::to_string(base) +
                        "], got " + std::to_string(floor));
    }
    if (total <= warmup) {
      throw ConfigError("lr schedule: cosine needs " + unit + " (" + std::to_string(total) +
                        ") > lr_warmup_" + unit + " (" + std::to_string(warmup) + ")");
    }
  }
}

double LrSchedule::ValueAt(int64_t index) const {
  const int64_t t = std::max<int64_t>(index, 0);
  if (t < warmup) return base * static_cast<double>(t + 1) / static_cast<double>(warmup);
  const int64_t after = t - warmup;
  switch (kind) {
    case LrScheduleKind::kConstant:
      return base;
    case LrScheduleKind::kStep:
      return base * std::pow(decay, static_cast<double>(after / step_every));
    case LrScheduleKind::kCosine: {
      const int64_t horizon = total - warmup;
      const double progress =
          static_cast<double>(std::min(after, horizon)) / static_cast<double>(horizon);
      return floor + (base - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return base;
}

}  // namespace edgefl::train
