// How much an update that is `s` global versions stale counts when it is
// applied (FedBuff, Nguyen et al. 2022; FedAsync, Xie et al. 2019):
// constant w(s) = 1, or polynomial w(s) = 1 / (1 + s)^a.
#pragma once

#include <cstdint>
#include <string>

namespace edgefl::algorithms {

struct StalenessWeight {
  enum class Kind { kConstant, kPolynomial } kind = Kind::kConstant;
  double exponent = 0.5;  // a, for kPolynomial; >= 0

  double operator()(int64_t staleness) const;
};

// Parses "constant" or "polynomial"; ConfigError naming `key` otherwise.
StalenessWeight::Kind ParseStalenessWeight(const std::string& name, const std::string& key);

}  // namespace edgefl::algorithms
