// Learning-rate schedules over a time index t = 0, 1, 2, ...: the round
// (0-based) when a strategy sets one learning rate per round, or the global
// step when the clients follow the schedule step by step inside their local
// steps (QSR; TrainRecipe::lr_schedule). The counts below (step_every,
// total, warmup) are in the schedule's own unit.
//
//   constant  η(t) = base
//   step      η(t) = base · γ^⌊t/s⌋,  s = step_every
//   cosine    η(t) = floor + (base − floor)·(1 + cos(π·min(t, T)/T))/2,
//             T = total (Loshchilov & Hutter 2017, without restarts)
//
// With warmup = W > 0 the first W values ramp linearly,
// η(t) = base·(t+1)/W for t < W, and the decay above runs on t − W (cosine
// over T = total − W).
#pragma once

#include <cstdint>
#include <string>

namespace edgefl::train {

enum class LrScheduleKind { kConstant, kStep, kCosine };

// Parses "constant", "step", "cosine"; ConfigError naming `key` and the
// accepted values otherwise.
LrScheduleKind ParseLrSchedule(const std::string& name, const std::string& key = "lr_schedule");
std::string LrScheduleName(LrScheduleKind kind);

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  double base = 0.01;       // >= 0: the peak (after warm-up) learning rate
  double decay = 0.1;       // γ in (0, 1] (kStep)
  int64_t step_every = 10;  // s > 0 (kStep)
  double floor = 0.0;       // in [0, base] (kCosine)
  int64_t total = 100;      // T > warmup (kCosine)
  int64_t warmup = 0;       // W >= 0

  // η at t (t < 0 is treated as 0). REQUIRES: Validate() passed.
  double ValueAt(int64_t t) const;
  // Whether t is in the warm-up ramp.
  bool InWarmup(int64_t t) const { return t < warmup; }
  // Throws ConfigError naming the first invalid field as its config key,
  // with `unit` the schedule's unit ("rounds": lr_step_rounds,
  // lr_warmup_rounds; "steps": lr_step_steps, lr_warmup_steps).
  void Validate(const std::string& unit = "rounds") const;
};

}  // namespace edgefl::train
