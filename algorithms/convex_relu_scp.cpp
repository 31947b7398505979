#include "algorithms/convex_relu_scp.h"

#include <cmath>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

using Eigen::MatrixXd;

double GatedLipschitz(const ConvexReluData& data, int iterations) {
  // v = 1, w = 0: F vanishes on v = w, so a start with v − w ≠ 0.
  MatrixXd z = MatrixXd::Zero(data.block_rows(), 1);
  z.topRows(data.block_rows() / 2).setOnes();
  z /= z.norm();
  double lambda = 0.0;
  for (int it = 0; it < iterations; ++it) {
    MatrixXd next = ApplyFt(data, ApplyF(data, z));
    lambda = next.norm();
    if (lambda == 0.0) return 1.0;
    z = next / lambda;
  }
  return 1.01 * lambda;
}

ConvexAdmmResult SolveGatedScp(const ConvexReluData& data, const ScpOptions& options) {
  if (!(options.beta > 0.0) || !std::isfinite(options.beta)) {
    throw ConfigError("convex_relu scp: beta must be finite and > 0, got " +
                      ShortNumber(options.beta));
  }
  if (options.iterations < 1 || options.power_iterations < 1) {
    throw ConfigError("convex_relu scp: iterations and power_iterations must be >= 1");
  }
  const double lipschitz = GatedLipschitz(data, options.power_iterations);
  MatrixXd z = MatrixXd::Zero(data.block_rows(), data.y.cols());
  MatrixXd y = z;
  double t = 1.0;
  ConvexAdmmResult result;
  for (int it = 0; it < options.iterations; ++it) {
    const MatrixXd grad = ApplyFt(data, ApplyF(data, y) - data.y);
    MatrixXd next = GroupShrink(y - grad / lipschitz, data.augmented(), options.beta / lipschitz);
    const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
    y = next + ((t - 1.0) / t_next) * (next - z);
    result.residual.push_back((next - z).norm());
    z = std::move(next);
    t = t_next;
    result.objective.push_back(ConvexObjective(data, z, options.beta));
  }
  result.z = std::move(z);
  return result;
}

}  // namespace edgefl::algorithms
