#include "nn/gradient_clipping.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::nn {

float ClipByGlobalNorm(Eigen::Ref<Eigen::VectorXf> g, float max_norm) {
  if (!(max_norm > 0.0f)) {
    throw ConfigError("gradient norm clipping: max_norm must be > 0, got " +
                      std::to_string(max_norm));
  }
  const double norm = std::sqrt(g.cast<double>().squaredNorm());
  if (norm > max_norm) g *= static_cast<float>(max_norm / norm);
  return static_cast<float>(norm);
}

float ClipCoordinates(Eigen::Ref<Eigen::VectorXf> g, double c, float scale,
                      std::vector<float>* scratch) {
  if (!(c >= 0.0 && c <= 1.0)) {
    throw ConfigError("coordinate-wise clipping: fraction c must be in [0, 1], got " +
                      std::to_string(c));
  }
  if (!(scale > 0.0f)) {
    throw ConfigError("coordinate-wise clipping: scale must be > 0, got " + ShortNumber(scale));
  }
  const Eigen::Index d = g.size();
  if (c == 0.0 || d == 0) return 0.0f;
  std::vector<float> local;
  std::vector<float>& magnitudes = scratch != nullptr ? *scratch : local;
  magnitudes.resize(static_cast<size_t>(d));
  Eigen::Map<Eigen::VectorXf>(magnitudes.data(), d) = g.cwiseAbs();
  const auto k = std::min<Eigen::Index>(static_cast<Eigen::Index>(std::floor(c * d)), d - 1);
  std::nth_element(magnitudes.begin(), magnitudes.begin() + k, magnitudes.end(),
                   std::greater<float>());
  const float tau = magnitudes[static_cast<size_t>(k)];
  const float limit = scale * tau;
  g = g.cwiseMax(-limit).cwiseMin(limit);
  return tau;
}

}  // namespace edgefl::nn
