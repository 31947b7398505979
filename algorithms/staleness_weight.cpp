#include "algorithms/staleness_weight.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace edgefl::algorithms {

double StalenessWeight::operator()(int64_t staleness) const {
  if (kind == Kind::kConstant) return 1.0;
  const double s = static_cast<double>(std::max<int64_t>(staleness, 0));
  return 1.0 / std::pow(1.0 + s, exponent);
}

StalenessWeight::Kind ParseStalenessWeight(const std::string& name, const std::string& key) {
  if (name == "constant") return StalenessWeight::Kind::kConstant;
  if (name == "polynomial") return StalenessWeight::Kind::kPolynomial;
  throw ConfigError(key + ": unknown staleness weighting \"" + name +
                    "\" (accepted: constant, polynomial)");
}

}  // namespace edgefl::algorithms
