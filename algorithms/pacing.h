// Curriculum pacing functions (Vahidian et al., "When Do Curricula Work in
// Federated Learning?", ICCV 2023, arXiv 2212.12712; code:
// sreevatsank1999/Curriculum-FL src/pacing_fn/). g(t) is how many of the N
// ordered items (samples, or clients for client selection) are usable at
// step t of T; g(0) = bN and g reaches N at t = aT:
//
//   linear  bN + (N − bN)·t/(aT)
//   quad    bN + (N − bN)·(t/(aT))²
//   root    bN + (N − bN)·(t/(aT))^½          (the code's 'sqrt')
//   step    bN + N·⌊t/(aT)⌋
//   exp     bN + (N − bN)·(e^{c·t/(aT)} − 1)/(e^c − 1),   c = 10
//   log     bN + (N − bN)·(1 + ln(t/(aT) + e^{−c})/c),    c = 10
//
// Used by the curriculum client selector and the client-side curriculum
// data order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace edgefl::algorithms {

// The values are stable: they travel as the "pacing" parameter of a
// LocalAlgorithm (a double in its params map).
enum class PacingKind : int { kLinear = 0, kQuad = 1, kRoot = 2, kStep = 3, kExp = 4, kLog = 5 };

// Parses "linear", "quad", "root" (or "sqrt"), "step", "exp", "log";
// ConfigError naming `key` and the accepted values otherwise.
PacingKind ParsePacing(const std::string& name, const std::string& key = "pacing");
std::string PacingName(PacingKind kind);
// The kind with the given stable value; ConfigError naming `key` otherwise.
PacingKind PacingFromValue(double value, const std::string& key = "pacing");

struct Pacing {
  PacingKind kind = PacingKind::kLinear;
  double a = 0.2;   // > 0: fraction of T at which all N items are usable
  double b = 0.2;   // in [0, 1]: fraction usable at t = 0
  double c = 10.0;  // > 0: steepness of exp and log

  // g(t) before truncation and clamping. REQUIRES: total > 0.
  double Raw(double t, double total, size_t n) const;
  // ⌊g(t)⌋ clipped to [1, N] (0 if N == 0).
  size_t Size(int64_t t, int64_t total, size_t n) const;
  // Throws ConfigError naming `prefix`a / `prefix`b / `prefix`c when out of
  // range (e.g. prefix "pacing_" gives "pacing_a").
  void Validate(const std::string& prefix = "pacing_") const;
};

}  // namespace edgefl::algorithms
