#include "nn/layer.h"

#include <algorithm>
#include <cmath>

namespace edgefl::nn {

void Layer::BackwardOverwrite(const float* params, const ConstMatrixRef& in,
                              const ConstMatrixRef& out, MatrixRef dout, float* grads,
                              MatrixRef* din) {
  if (grads != nullptr) std::fill_n(grads, num_parameters(), 0.0f);
  Backward(params, in, out, dout, grads, din);
}

void FillUniform(Rng& rng, float bound, float* values, Eigen::Index n) {
  for (Eigen::Index i = 0; i < n; ++i) {
    values[i] = static_cast<float>((2.0 * rng.Uniform() - 1.0) * bound);
  }
}

float InitBound(Init init, Eigen::Index fan_in, Eigen::Index fan_out) {
  switch (init) {
    case Init::kKaimingUniform:
      return static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in)));
    case Init::kXavierUniform:
      return static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in + fan_out)));
  }
  return 0.0f;
}

}  // namespace edgefl::nn
