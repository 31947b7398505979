// DP-FedAvg's clipping and Andrew et al.'s adaptive clip norm.
#include "privacy/dp_clipping.h"

#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::privacy {

TEST_CASE("ClipToNorm scales an update to the bound and reports whether it was within") {
  std::vector<float> small = {3.0f, 4.0f};
  CHECK(ClipToNorm(small, 10.0));
  CHECK(small == std::vector<float>{3.0f, 4.0f});
  std::vector<float> big = {3.0f, 4.0f};
  CHECK_FALSE(ClipToNorm(big, 1.0));
  CHECK(big[0] == doctest::Approx(0.6));
  CHECK(big[1] == doctest::Approx(0.8));
}

TEST_CASE("clipping bounds every update's norm") {
  Rng rng(7);
  for (int k = 0; k < 200; ++k) {
    std::vector<float> update(50);
    const double scale = std::exp(4.0 * rng.Normal());
    for (float& v : update)
      v = static_cast<float>(scale * rng.Normal());
    ClipToNorm(update, 2.5);
    double sq = 0;
    for (float v : update)
      sq += static_cast<double>(v) * v;
    CHECK(std::sqrt(sq) <= 2.5 * (1 + 1e-6));
  }
}

TEST_CASE("clipping fails closed on a non-finite update or a bad bound") {
  std::vector<float> nan = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_WITH_AS(ClipToNorm(nan, 1.0), doctest::Contains("non-finite"), ConfigError);
  std::vector<float> ok = {1.0f};
  CHECK_THROWS_WITH_AS(ClipToNorm(ok, 0.0), doctest::Contains("clip norm must be finite and > 0"),
                       ConfigError);
}

TEST_CASE("the adaptive clip norm moves geometrically by the noised unclipped fraction") {
  // All 10 of 10 unclipped, no noise: b̄ = 1, C ← C·exp(−0.2·(1 − 0.5)).
  CHECK(NextClipNorm(1.0, 10, 10, 10.0, 0.0, {}) == doctest::Approx(std::exp(-0.1)));
  // None unclipped: b̄ = 0, C grows by exp(0.1).
  CHECK(NextClipNorm(2.0, 0, 10, 10.0, 0.0, {}) == doctest::Approx(2.0 * std::exp(0.1)));
  // The noise enters the centered count: (3 − 5 + 2)/10 + 0.5 = 0.5 = γ: C stays.
  CHECK(NextClipNorm(3.0, 3, 10, 10.0, 2.0, {}) == doctest::Approx(3.0));
}

TEST_CASE("the adaptive clip norm converges to the target quantile of the update norms") {
  // Norms uniform on [0, 10]: the γ-quantile is 10γ. 100 clients a round.
  for (double gamma : {0.5, 0.8}) {
    for (double count_stddev : {0.0, 5.0}) {  // 5 = m/20, Andrew et al.'s choice
      CAPTURE(gamma);
      CAPTURE(count_stddev);
      Rng rng(11);
      AdaptiveClipOptions options;
      options.target_quantile = gamma;
      options.count_stddev = count_stddev;
      double clip = 0.1;
      double late_sum = 0;
      for (int round = 0; round < 600; ++round) {
        int unclipped = 0;
        for (int k = 0; k < 100; ++k)
          unclipped += (10.0 * rng.Uniform() <= clip) ? 1 : 0;
        clip = NextClipNorm(clip, unclipped, 100, 100.0, count_stddev * rng.Normal(), options);
        if (round >= 400) late_sum += clip;
      }
      CHECK(late_sum / 200 == doctest::Approx(10.0 * gamma).epsilon(0.05));
    }
  }
}

TEST_CASE("the noise multiplier is split between the updates and the clipped count") {
  CHECK(UpdateNoiseMultiplier(1.0, 0.0) == 1.0);
  CHECK(UpdateNoiseMultiplier(1.0, 5.0) == doctest::Approx(std::pow(1.0 - 0.01, -0.5)));
  // z_Δ⁻² + (2σ_b)⁻² = z⁻²: the two Gaussians together cost the whole z.
  const double z_delta = UpdateNoiseMultiplier(1.3, 2.0);
  CHECK(std::pow(z_delta, -2) + std::pow(4.0, -2) == doctest::Approx(std::pow(1.3, -2)));
  CHECK_THROWS_WITH_AS(UpdateNoiseMultiplier(1.0, 0.5), doctest::Contains("raise dp_count_stddev"),
                       ConfigError);
  CHECK_THROWS_AS(NextClipNorm(1.0, 1, 2, 2.0, 0.0, {.target_quantile = 1.0}), ConfigError);
  CHECK_THROWS_AS(NextClipNorm(1.0, 3, 2, 2.0, 0.0, {}), ConfigError);
}

}  // namespace edgefl::privacy
