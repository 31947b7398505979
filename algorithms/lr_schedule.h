// Learning-rate schedules indexed by round: the clients' learning rate of
// round t (0-based) that a strategy writes into each round's recipe, and the
// η that QSR reads.
//
//   constant  η(t) = base
//   step      η(t) = base · γ^⌊t/s⌋
//   cosine    η(t) = floor + (base − floor)·(1 + cos(π·min(t, T)/T))/2,
//             T = total_rounds (Loshchilov & Hutter 2017, without restarts)
//
// With warmup_rounds = W > 0 the first W rounds ramp linearly,
// η(t) = base·(t+1)/W for t < W, and the decay above runs on t − W (cosine
// over T = total_rounds − W).
#pragma once

#include <cstdint>
#include <string>

namespace edgefl::algorithms {

enum class LrScheduleKind { kConstant, kStep, kCosine };

// Parses "constant", "step", "cosine"; ConfigError naming `key` and the
// accepted values otherwise.
LrScheduleKind ParseLrSchedule(const std::string& name, const std::string& key = "lr_schedule");
std::string LrScheduleName(LrScheduleKind kind);

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  double base = 0.01;          // >= 0: the peak (after warm-up) learning rate
  double decay = 0.1;          // γ in (0, 1] (kStep)
  int64_t step_rounds = 10;    // s > 0 (kStep)
  double floor = 0.0;          // in [0, base] (kCosine)
  int64_t total_rounds = 100;  // T > warmup_rounds (kCosine)
  int64_t warmup_rounds = 0;   // W >= 0

  // η at round t (t < 0 is treated as 0). REQUIRES: Validate() passed.
  double ValueAt(int64_t round) const;
  // Whether round t is in the warm-up ramp.
  bool InWarmup(int64_t round) const { return round < warmup_rounds; }
  // Throws ConfigError naming the first invalid field.
  void Validate() const;
};

}  // namespace edgefl::algorithms
