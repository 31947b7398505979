#include "nn/layer_norm.h"

#include <cmath>

namespace edgefl::nn {

using Eigen::Map;
using Eigen::VectorXf;

namespace {
constexpr float kEpsilon = 1e-5f;
}  // namespace

void LayerNorm::Initialize(float* params) const {
  Map<VectorXf>(params, dim_).setOnes();
  Map<VectorXf>(params + dim_, dim_).setZero();
}

void LayerNorm::Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) {
  const Eigen::Index n = in.cols();
  Map<const VectorXf> gamma(params, dim_), beta(params + dim_, dim_);
  normalized_.resize(dim_, n);
  inv_stddev_.resize(n);
  const float inv_d = 1.0f / static_cast<float>(dim_);
  for (Eigen::Index c = 0; c < n; ++c) {
    const float mean = in.col(c).sum() * inv_d;
    auto centered = normalized_.col(c);
    centered = in.col(c).array() - mean;
    const float var = centered.squaredNorm() * inv_d;
    const float inv = 1.0f / std::sqrt(var + kEpsilon);
    inv_stddev_(c) = inv;
    centered *= inv;
    out.col(c) = (gamma.array() * centered.array() + beta.array()).matrix();
  }
}

void LayerNorm::Backward(const float* params, const ConstMatrixRef& dout, float* grads,
                         MatrixRef din) {
  Map<const VectorXf> gamma(params, dim_);
  Map<VectorXf> dgamma(grads, dim_), dbeta(grads + dim_, dim_);
  dgamma += (dout.array() * normalized_.array()).rowwise().sum().matrix();
  dbeta += dout.rowwise().sum();
  const float inv_d = 1.0f / static_cast<float>(dim_);
  for (Eigen::Index c = 0; c < dout.cols(); ++c) {
    const Eigen::ArrayXf dxhat = dout.col(c).array() * gamma.array();
    const Eigen::ArrayXf xhat = normalized_.col(c).array();
    const float mean_d = dxhat.sum() * inv_d;
    const float mean_dx = (dxhat * xhat).sum() * inv_d;
    din.col(c) = ((dxhat - mean_d - xhat * mean_dx) * inv_stddev_(c)).matrix();
  }
}

}  // namespace edgefl::nn
