#include "privacy/secagg_quantize.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace edgefl::privacy {
namespace {

uint64_t Modulus(uint32_t bits) {
  return uint64_t{1} << bits;
}

}  // namespace

uint64_t SecAggLevels(uint32_t bits, uint32_t n, uint32_t max_weight) {
  if (bits < 1 || bits > 32) {
    throw ConfigError("secagg_bits = " + std::to_string(bits) + " must be in [1, 32]");
  }
  if (n == 0) throw ConfigError("secure aggregation needs at least one client");
  if (static_cast<uint64_t>(n) * max_weight >= Modulus(bits)) {
    throw ConfigError("secure aggregation: " + std::to_string(n) + " clients × secagg_max_weight " +
                      std::to_string(max_weight) + " does not fit in 2^" + std::to_string(bits) +
                      "; raise secagg_bits or lower secagg_max_weight");
  }
  const uint64_t levels = (Modulus(bits) - 1) / n;
  if (levels < 2) {
    throw ConfigError("secure aggregation: 2^" + std::to_string(bits) +
                      " leaves fewer than 2 levels for " + std::to_string(n) +
                      " clients; raise secagg_bits");
  }
  return levels;
}

std::vector<uint32_t> QuantizeUpdate(std::span<const float> update, int64_t weight,
                                     const SecAggConfig& config, Rng& rng) {
  if (update.size() != config.dimension) {
    throw Error("secagg: an update of " + std::to_string(update.size()) +
                " values, the round has " + std::to_string(config.dimension));
  }
  const uint64_t w = static_cast<uint64_t>(std::clamp<int64_t>(weight, 0, config.max_weight));
  const double omega = static_cast<double>(w) / config.max_weight;
  const double c = config.clip;
  const double scale = static_cast<double>(config.levels) / (2 * c);
  std::vector<uint32_t> out(update.size() + 1);
  for (size_t i = 0; i < update.size(); ++i) {
    double v = omega * static_cast<double>(update[i]);
    if (!(v >= -c)) v = -c;  // NaN also lands here; the engine rejects NaN before
    if (v > c) v = c;
    const double level = std::floor((v + c) * scale + rng.Uniform());
    out[i] = static_cast<uint32_t>(std::min<double>(level, static_cast<double>(config.levels)));
  }
  out[update.size()] = static_cast<uint32_t>(w);
  return out;
}

std::vector<double> DecodedSum::Mean() const {
  std::vector<double> mean;
  if (weight_sum <= 0) return mean;
  mean.resize(weighted_sum.size());
  for (size_t i = 0; i < mean.size(); ++i)
    mean[i] = weighted_sum[i] / weight_sum;
  return mean;
}

DecodedSum DecodeSum(std::span<const uint32_t> sum, uint32_t contributors,
                     const SecAggConfig& config) {
  if (sum.size() != config.dimension + 1) throw Error("secagg: the sum has the wrong length");
  const uint64_t mask = Modulus(config.bits) - 1;
  const double step = 2 * config.clip / static_cast<double>(config.levels);
  DecodedSum out;
  out.weighted_sum.resize(config.dimension);
  for (size_t i = 0; i < config.dimension; ++i) {
    out.weighted_sum[i] = static_cast<double>(sum[i] & mask) * step - contributors * config.clip;
  }
  out.sample_sum = sum[config.dimension] & mask;
  out.weight_sum = static_cast<double>(out.sample_sum) / config.max_weight;
  return out;
}

}  // namespace edgefl::privacy
