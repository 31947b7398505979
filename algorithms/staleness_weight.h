// How much an update that is `s` global versions stale counts when it is
// applied, s = the versions made since the client's base (0 when nothing
// intervened; FedAsync's t − τ, FLSim's seqnum difference). The functions of
// FedAsync (Xie, Koyejo, Gupta 2019, arXiv 1903.03934, §5.2) and FedBuff
// (Nguyen et al. 2022, s(τ) = 1/√(1+τ)):
//   constant    s(t) = 1
//   polynomial  s(t) = (1 + t)^(−a)
//   hinge       s(t) = 1 for t ≤ b, else 1 / (a·(t − b) + 1)
#pragma once

#include <cstdint>
#include <string>

namespace edgefl::algorithms {

struct StalenessWeight {
  enum class Kind { kConstant, kPolynomial, kHinge } kind = Kind::kConstant;
  double exponent = 0.5;  // a of kPolynomial; >= 0
  double hinge_a = 10.0;  // a of kHinge; >= 0
  double hinge_b = 4.0;   // b of kHinge; >= 0

  // In (0, 1], non-increasing in `staleness` (a negative one counts as 0).
  double operator()(int64_t staleness) const;
};

// Parses "constant", "polynomial" or "hinge"; ConfigError naming `key` otherwise.
StalenessWeight::Kind ParseStalenessWeight(const std::string& name, const std::string& key);

}  // namespace edgefl::algorithms
