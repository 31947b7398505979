#include "datasets/feature_noise.h"

#include <cmath>
#include <span>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::datasets {
namespace {

constexpr uint64_t kFeatureNoiseStream = 0x464e4f4953453031ULL;  // "FNOISE01"

}  // namespace

void AddFeatureNoise(Dataset& data, float noise_std, uint64_t seed, size_t client_id) {
  if (!std::isfinite(noise_std) || noise_std < 0.0f) {
    throw ConfigError("feature noise: noise_std must be >= 0, got " + std::to_string(noise_std));
  }
  if (noise_std == 0.0f) return;
  Rng rng = Rng::Derive(seed, {kFeatureNoiseStream, client_id});
  const double stddev = noise_std;
  // Row-major storage: row 0's features, then row 1's, ...
  const std::span<float> values(data.features.data(), static_cast<size_t>(data.features.size()));
  for (float& value : values)
    value += static_cast<float>(rng.Normal(0.0, stddev));
}

}  // namespace edgefl::datasets
