#include "algorithms/staleness_weight.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace edgefl::algorithms {

double StalenessWeight::operator()(int64_t staleness) const {
  const double s = static_cast<double>(std::max<int64_t>(staleness, 0));
  switch (kind) {
    case Kind::kConstant:
      return 1.0;
    case Kind::kPolynomial:
      return 1.0 / std::pow(1.0 + s, exponent);
    case Kind::kHinge:
      return s <= hinge_b ? 1.0 : 1.0 / (hinge_a * (s - hinge_b) + 1.0);
  }
  return 1.0;
}

StalenessWeight::Kind ParseStalenessWeight(const std::string& name, const std::string& key) {
  if (name == "constant") return StalenessWeight::Kind::kConstant;
  if (name == "polynomial") return StalenessWeight::Kind::kPolynomial;
  if (name == "hinge") return StalenessWeight::Kind::kHinge;
  throw ConfigError(key + ": unknown staleness weighting \"" + name +
                    "\" (accepted: constant, polynomial, hinge)");
}

}  // namespace edgefl::algorithms
