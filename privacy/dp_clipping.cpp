#include "privacy/dp_clipping.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::privacy {

bool ClipToNorm(std::span<float> update, double clip_norm) {
  if (!(clip_norm > 0.0) || std::isinf(clip_norm)) {
    throw ConfigError("dp: the clip norm must be finite and > 0, got " + ShortNumber(clip_norm));
  }
  double sq = 0.0;
  for (float v : update) {
    if (!std::isfinite(v)) {
      throw ConfigError("dp: an update holds a non-finite value; it cannot be clipped");
    }
    sq += static_cast<double>(v) * v;
  }
  const double norm = std::sqrt(sq);
  if (norm <= clip_norm) return true;
  const auto scale = static_cast<float>(clip_norm / norm);
  for (float& v : update)
    v *= scale;
  return false;
}

double NextClipNorm(double clip_norm, int unclipped, int reported, double expected_clients,
                    double count_noise, const AdaptiveClipOptions& options) {
  if (!(clip_norm > 0.0) || std::isinf(clip_norm)) {
    throw ConfigError("dp: the clip norm must be finite and > 0, got " + ShortNumber(clip_norm));
  }
  if (!(expected_clients > 0.0)) {
    throw ConfigError("dp: the expected clients per round must be > 0, got " +
                      std::to_string(expected_clients));
  }
  if (!(options.target_quantile > 0.0 && options.target_quantile < 1.0)) {
    throw ConfigError("dp: dp_target_quantile must be in (0, 1), got " +
                      std::to_string(options.target_quantile));
  }
  if (!(options.learning_rate > 0.0)) {
    throw ConfigError("dp: dp_clip_lr must be > 0, got " + std::to_string(options.learning_rate));
  }
  if (unclipped < 0 || unclipped > reported) {
    throw ConfigError("dp: " + std::to_string(unclipped) + " unclipped of " +
                      std::to_string(reported) + " reported updates");
  }
  const double centered = unclipped - 0.5 * reported;
  const double fraction = std::clamp((centered + count_noise) / expected_clients + 0.5, 0.0, 1.0);
  return clip_norm * std::exp(-options.learning_rate * (fraction - options.target_quantile));
}

double UpdateNoiseMultiplier(double noise_multiplier, double count_stddev) {
  if (!(noise_multiplier >= 0.0) || std::isinf(noise_multiplier)) {
    throw ConfigError("dp: the noise multiplier must be finite and >= 0, got " +
                      ShortNumber(noise_multiplier));
  }
  if (!(count_stddev >= 0.0)) {
    throw ConfigError("dp: the clipped-count stddev must be >= 0, got " +
                      std::to_string(count_stddev));
  }
  if (count_stddev == 0.0) return noise_multiplier;
  if (2.0 * count_stddev <= noise_multiplier) {
    throw ConfigError("dp: the clipped-count noise (stddev " + std::to_string(count_stddev) +
                      ", sensitivity 1/2) must be larger than half the noise multiplier " +
                      ShortNumber(noise_multiplier) +
                      ", or it alone spends the whole budget; raise dp_count_stddev");
  }
  const double rest = std::pow(noise_multiplier, -2.0) - std::pow(2.0 * count_stddev, -2.0);
  return std::pow(rest, -0.5);
}

}  // namespace edgefl::privacy
