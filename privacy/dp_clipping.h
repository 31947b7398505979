// The client-level pieces of DP-FedAvg (McMahan, Ramage, Talwar, Zhang,
// ICLR'18) with adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy,
// NeurIPS'21, Algorithm 1 with the centered clipped-count bits of its §3):
// clip each client's update Δ to L2 norm C, and move C geometrically
// toward the target quantile γ of the update norms from a noised count of
// the clients that were not clipped. Plain functions of their arguments;
// the noise itself is the caller's (a seeded Rng in simulation).
#pragma once

#include <span>

namespace edgefl::privacy {

// Scales `update` in place to L2 norm at most `clip_norm` (> 0):
// Δ·min(1, C/‖Δ‖). Returns whether it was within the bound (‖Δ‖ ≤ C),
// Andrew et al.'s b_i. Throws ConfigError if clip_norm is not > 0 or the
// update is not finite (a privacy bound on a NaN is no bound: fail closed).
bool ClipToNorm(std::span<float> update, double clip_norm);

struct AdaptiveClipOptions {
  double target_quantile = 0.5;  // γ in (0, 1): the fraction of updates left unclipped
  double learning_rate = 0.2;    // η_C > 0 of C ← C·exp(−η_C (b̄ − γ))
  double count_stddev = 0.0;     // σ_b >= 0 of the noise on Σ(b_i − 1/2)
};

// The next clip norm: C·exp(−η_C·(b̄ − γ)) with b̄ = (Σ_i (b_i − 1/2) +
// count_noise)/expected_clients + 1/2, clamped to [0, 1]; `count_noise` is
// a draw of N(0, σ_b²) supplied by the caller. Throws ConfigError for
// clip_norm <= 0, expected_clients <= 0 or options out of range.
double NextClipNorm(double clip_norm, int unclipped, int reported, double expected_clients,
                    double count_noise, const AdaptiveClipOptions& options);

// The noise multiplier left for the updates when a total multiplier z is
// split with the clipped-count query of stddev σ_b on sensitivity 1/2:
// z_Δ = (z^{−2} − (2σ_b)^{−2})^{−1/2} (Andrew et al. §3). σ_b = 0 (fixed
// clipping) leaves z. Throws ConfigError when 2σ_b <= z (the count query
// alone would spend the whole budget).
double UpdateNoiseMultiplier(double noise_multiplier, double count_stddev);

}  // namespace edgefl::privacy
