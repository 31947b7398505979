// The fixed-point encoding SecAgg sums (Bonawitz et al. §3 work over Z_R;
// the weighted form [ω, ω·x] and the clip/quantisation ranges as in
// Flower's SecAgg+ workflow): a client with update x ∈ R^d and sample
// count w sends the d + 1 values
//   q_i = ⌊(clip(ω·x_i, −c, c) + c)/(2c) · L + u_i⌋ ∈ {0, …, L}, i < d,
//   q_d = min(w, W)                    (the weight, an exact integer),
// with ω = min(w, W)/W, u_i uniform in [0, 1) (stochastic rounding: the
// expectation of the decoded value is the clipped ω·x_i), c = config.clip,
// L = config.levels and W = config.max_weight. The sum of m clients' vectors
// never wraps Z_{2^bits} when m·L < 2^bits and m·W < 2^bits
// (SecAggLevels). Decoding the sum: Σ ω·x_i = Σq_i·2c/L − m·c (error
// ≤ m·2c/L per coordinate, zero-mean) and Σ ω = q_d / W, so the
// sample-weighted mean Σ w x / Σ w is exact up to quantisation when every
// w ≤ W and every |ω x_i| ≤ c.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "privacy/secagg_messages.h"

namespace edgefl::privacy {

// L = ⌊(2^bits − 1)/n⌋, the most levels with which n clients' sum fits.
// Throws ConfigError when n·max_weight does not fit in 2^bits or L < 2.
uint64_t SecAggLevels(uint32_t bits, uint32_t n, uint32_t max_weight);

// The d + 1 values above; `rng` draws the stochastic rounding.
std::vector<uint32_t> QuantizeUpdate(std::span<const float> update, int64_t weight,
                                     const SecAggConfig& config, Rng& rng);

struct DecodedSum {
  std::vector<double> weighted_sum;  // Σ ω_k x_k (clipped), per coordinate
  double weight_sum = 0;             // Σ ω_k
  uint64_t sample_sum = 0;           // Σ min(w_k, W)
  // The weighted mean Σ ω x / Σ ω (empty when weight_sum is 0).
  std::vector<double> Mean() const;
};

// Decodes the unmasked sum (d + 1 values mod 2^bits) of `contributors`
// clients' QuantizeUpdate vectors.
DecodedSum DecodeSum(std::span<const uint32_t> sum, uint32_t contributors,
                     const SecAggConfig& config);

}  // namespace edgefl::privacy
