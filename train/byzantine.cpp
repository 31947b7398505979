#include "train/byzantine.h"

#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"
#include "common/random.h"

namespace edgefl::train {
namespace {

constexpr uint64_t kByzantineStream = 0x62797a;  // "byz"

}  // namespace

ByzantineMode ParseByzantineMode(std::string_view name, std::string_view key) {
  if (name == "none") return ByzantineMode::kNone;
  if (name == "scale") return ByzantineMode::kScale;
  if (name == "sign_flip") return ByzantineMode::kSignFlip;
  if (name == "nan") return ByzantineMode::kNaN;
  throw ConfigError(std::string(key) + ": unknown Byzantine mode \"" + std::string(name) +
                    "\" (accepted: none, scale, sign_flip, nan)");
}

std::string ByzantineModeName(ByzantineMode mode) {
  switch (mode) {
    case ByzantineMode::kNone:
      return "none";
    case ByzantineMode::kScale:
      return "scale";
    case ByzantineMode::kSignFlip:
      return "sign_flip";
    case ByzantineMode::kNaN:
      return "nan";
  }
  return "none";
}

double DefaultByzantineFactor(ByzantineMode mode) {
  switch (mode) {
    case ByzantineMode::kScale:
      return 100.0;
    case ByzantineMode::kSignFlip:
      return 4.0;
    default:
      return 1.0;
  }
}

double ByzantineAttack::EffectiveFactor() const {
  return factor == 0.0 ? DefaultByzantineFactor(mode) : factor;
}

void ByzantineAttack::Validate(std::string_view key) const {
  if (!(std::isfinite(factor) && factor >= 0.0)) {
    throw ConfigError(std::string(key) +
                      " must be a finite number >= 0 (0 = the mode's default), got " +
                      std::to_string(factor));
  }
}

void ApplyByzantine(ByzantineMode mode, double factor, std::span<const float> global,
                    Eigen::VectorXf* parameters) {
  if (mode == ByzantineMode::kNone) return;
  if (static_cast<size_t>(parameters->size()) != global.size()) {
    throw ConfigError("Byzantine attack: the global model has " + std::to_string(global.size()) +
                      " parameters, the trained one " + std::to_string(parameters->size()));
  }
  if (mode == ByzantineMode::kNaN) {
    parameters->setConstant(std::numeric_limits<float>::quiet_NaN());
    return;
  }
  const double f = factor == 0.0 ? DefaultByzantineFactor(mode) : factor;
  const float signed_factor = static_cast<float>(mode == ByzantineMode::kScale ? f : -f);
  const Eigen::Map<const Eigen::VectorXf> w(global.data(),
                                            static_cast<Eigen::Index>(global.size()));
  *parameters = w + signed_factor * (*parameters - w);
}

std::vector<bool> ChooseByzantineClients(size_t num_clients, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw ConfigError("byzantine_fraction must be in [0, 1), got " + std::to_string(fraction));
  }
  const auto count = static_cast<size_t>(std::lround(fraction * static_cast<double>(num_clients)));
  std::vector<uint32_t> order(num_clients);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng = Rng::Derive(seed, {kByzantineStream});
  rng.Shuffle(order);
  std::vector<bool> byzantine(num_clients, false);
  for (size_t i = 0; i < count && i < num_clients; ++i)
    byzantine[order[i]] = true;
  return byzantine;
}

}  // namespace edgefl::train
