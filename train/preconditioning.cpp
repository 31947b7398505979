#include "train/preconditioning.h"

#include <cmath>

#include "common/error.h"

namespace edgefl::train {

std::string ScalingStatisticName(ScalingStatistic statistic) {
  switch (statistic) {
    case ScalingStatistic::kNone:
      return "none";
    case ScalingStatistic::kGradient:
      return "gradient";
    case ScalingStatistic::kHutchinson:
      return "hutchinson";
  }
  return "unknown (" + std::to_string(static_cast<int>(statistic)) + ")";
}

void ValidatePreconditioning(const Preconditioning& preconditioning, Eigen::Index num_parameters) {
  const ScalingStatistic s = preconditioning.statistic;
  if (s != ScalingStatistic::kNone && s != ScalingStatistic::kGradient &&
      s != ScalingStatistic::kHutchinson) {
    throw ConfigError("preconditioning: unknown statistic " + ScalingStatisticName(s));
  }
  if (!preconditioning.has_diagonal()) return;
  const Eigen::VectorXf& d = *preconditioning.diagonal;
  if (d.size() != num_parameters) {
    throw ConfigError("preconditioning: the diagonal has " + std::to_string(d.size()) +
                      " entries but the model has " + std::to_string(num_parameters) +
                      " parameters");
  }
  for (Eigen::Index i = 0; i < d.size(); ++i) {
    if (!(d[i] > 0.0f) || !std::isfinite(d[i])) {
      throw ConfigError("preconditioning: diagonal entry " + std::to_string(i) +
                        " must be finite and > 0, got " + std::to_string(d[i]));
    }
  }
}

void ApplyInverseDiagonal(const Eigen::VectorXf& diagonal, Eigen::Ref<Eigen::VectorXf> gradient) {
  gradient.array() /= diagonal.array();
}

void DrawRademacher(Rng& rng, Eigen::Index n, Eigen::VectorXf* z) {
  z->resize(n);
  uint64_t bits = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if ((i & 63) == 0) bits = rng.Next();
    (*z)[i] = (bits & 1) ? 1.0f : -1.0f;
    bits >>= 1;
  }
}

}  // namespace edgefl::train
