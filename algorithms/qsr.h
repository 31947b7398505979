// Quadratic Synchronization Rule (Gu, Lyu, Arora, Zhang, Huang, "A Quadratic
// Synchronization Rule for Distributed Deep Learning", ICLR 2024; code:
// hmgxr128/QSR localopt.py). The number of local steps before the next
// averaging grows as the learning rate decays:
//
//   H = max(1, min(steps_left, max(H_base, ⌊(α/η)^γ⌋)))
//
// with η the learning rate scheduled now. Guards: H = H_base (then clipped
// to steps_left and >= 1) during learning-rate warm-up, when α = 0, and when
// η <= 0 or is not finite; ⌊(α/η)^γ⌋ is computed in double with a relative
// tolerance of 1e-6 (learning rates often arrive as floats) and capped at
// max_steps (when > 0) before the integer conversion.
#pragma once

#include <cstdint>

namespace edgefl::algorithms {

struct QsrOptions {
  int64_t base_steps = 4;  // H_base >= 1 (ViT recipe: 4; ResNet: 2)
  double alpha = 0.0175;   // α >= 0 (ViT + Local AdamW: 0.0175; ResNet + SGD: ~0.2)
  double gamma = 2.0;      // γ > 0, the 'power' (2: the quadratic rule)
  // Local-step budget of the whole run; 0 = unlimited (steps_left = ∞).
  int64_t total_steps = 0;
  // Upper bound on H; 0 = none (beyond steps_left).
  int64_t max_steps = 0;

  // Throws ConfigError naming the first invalid field (qsr_h_base, ...).
  void Validate() const;
};

// H for the next period. `steps_left` < 0 means unlimited. Returns 0 only if
// steps_left == 0 (the budget is spent).
int64_t QsrLocalSteps(const QsrOptions& options, double lr, int64_t steps_left,
                      bool in_warmup = false);

}  // namespace edgefl::algorithms
