// Byzantine clients: the attacks a malicious client can send instead of its
// honest update, for measuring robust aggregation. The one implementation
// used by both the real client (edgefl-client --byzantine) and the
// simulation (byzantine_* config keys), so the two attack alike.
//
// A client trains honestly, then ApplyByzantine turns the trained
// parameters w_k into what it sends, from the global model w it started at:
//   scale      w + f·(w_k − w)   the update blown up   (default f = 100)
//   sign_flip  w − f·(w_k − w)   the update reversed   (default f = 4)
//   nan        every value NaN   (always rejected by the coordinator)
// Sign flip defaults to f = 4 so that 20% attackers cancel the honest 80%
// under a plain mean (0.8 − 4·0.2 = 0), the point where FedAvg stalls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace edgefl::train {

enum class ByzantineMode { kNone, kScale, kSignFlip, kNaN };

// "none", "scale", "sign_flip" or "nan". Throws ConfigError naming `key`
// and the accepted names otherwise.
ByzantineMode ParseByzantineMode(std::string_view name, std::string_view key);
std::string ByzantineModeName(ByzantineMode mode);

// The factor `mode` uses when none is given: 100 for scale, 4 for
// sign_flip, 1 otherwise.
double DefaultByzantineFactor(ByzantineMode mode);

// What a Byzantine client does. factor 0 means DefaultByzantineFactor(mode).
struct ByzantineAttack {
  ByzantineMode mode = ByzantineMode::kNone;
  double factor = 0.0;

  bool active() const { return mode != ByzantineMode::kNone; }
  // The factor applied: `factor`, or the mode's default when it is 0.
  double EffectiveFactor() const;
  // Throws ConfigError naming `key` if factor is negative or not finite.
  void Validate(std::string_view key) const;
};

// Replaces the honestly trained `parameters` with the attack's (see the
// table above); kNone leaves them as they are. `factor` 0 means the mode's
// default. REQUIRES: global.size() == parameters->size() (ConfigError
// otherwise).
void ApplyByzantine(ByzantineMode mode, double factor, std::span<const float> global,
                    Eigen::VectorXf* parameters);

// Which of `num_clients` clients are Byzantine: round(fraction·num_clients)
// of them, drawn without replacement with a generator derived from `seed`
// (the same seed gives the same clients). Returns a flag per client.
// REQUIRES: 0 <= fraction < 1 (ConfigError naming byzantine_fraction).
std::vector<bool> ChooseByzantineClients(size_t num_clients, double fraction, uint64_t seed);

}  // namespace edgefl::train
